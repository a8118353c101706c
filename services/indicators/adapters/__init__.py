"""Adapters of the indicators service: the only code that knows MongoDB."""
