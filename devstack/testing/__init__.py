"""Test helpers every service's tests use: real infrastructure, isolation, in-process HTTP serving."""
