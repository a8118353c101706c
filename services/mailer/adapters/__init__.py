"""Adapters of the mailer: the only code that knows MongoDB, SMTP, HTTP fetches and topics."""
