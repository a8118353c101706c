"""Loops the runtime keeps running for dunning: the scheduler (`scheduler.py`), one pass at a time."""
