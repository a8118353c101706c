"""The only code that knows MongoDB, GridFS, the outbox and wire formats."""
