"""One async function per command or event, written against the ports (`ports.py`): a `Tx` from the unit of
work, never a database driver or a broker. The message first, dependencies keyword-only."""
