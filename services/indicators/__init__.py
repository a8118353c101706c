"""Indicators: dispute KPIs kept up to date incrementally from events."""
