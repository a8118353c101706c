"""Loops the runtime keeps running beside the API and the consumers (registered in app.py)."""
