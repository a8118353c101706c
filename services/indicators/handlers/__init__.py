"""One function per command or event, written against the ports (`ports.py`): never a session, a
driver or a broker. `changes` counts item and action events, `definitions` recounts when a client or
a status definition changes, `queries` answers the KPI API, `recompute` rebuilds and compares,
`history` closes days into daily points."""
