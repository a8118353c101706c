"""One async function per command or event: the message first, dependencies keyword-only."""
