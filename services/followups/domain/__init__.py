"""The follow-ups rules in pure Python: no I/O, no framework. Handlers load state, call these, save."""
