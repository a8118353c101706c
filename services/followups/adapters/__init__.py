"""The ports made real: MongoDB repositories and the unit of work's transaction object, GridFS, the outbox
publisher, the HTTP fetcher of reply attachments, and the one-time migrations of stored documents."""
