"""The inbound side of the mailer: an SMTP listener for the inbound domain that turns replies to
internal interactive emails into ReplyReceived, bounces into failed sends and suppressions, and
unsubscribe mails into suppressions. Pure rules in text, autoreply, dsn, attachments, addresses;
I/O in listener (SMTP), handlers (use cases), store (MongoDB, GridFS) and api (claim checks)."""
