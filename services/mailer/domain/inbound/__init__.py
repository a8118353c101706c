"""Reading inbound mail, pure: whose address it came to (`addresses`), what a person wrote (`text`),
which files are kept (`attachments`), out-of-office answers (`autoreply`), bounces (`dsn`), and the
values the inbound handlers deal in (`mail`)."""
