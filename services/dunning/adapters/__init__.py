"""The dunning ports made real: MongoDB repositories, the outbox publisher, the unit of work binding them.

The only code of the service that knows its collections, documents and queries. Every document carries
`tenant_id` and every query filters on it; ids are `<tenant>|<id>` so a redelivered event or a replay
upserts the same document.
"""
