"""Dunning: collection scenarios, per-item dunning state, the agenda, scheduled actions sent once."""
