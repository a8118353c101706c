"""Adapters of the indicators service, the only code that knows MongoDB: the store (`mongo`), the
history, the figures the API reads (`reads`), what a recompute reads, the transaction object and its
unit of work (`transaction`), and the store buffering a batch of events (`batching`)."""
