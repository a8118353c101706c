"""The mailer's rules, pure Python (no I/O, no framework): the send ledger and what an SMTP answer
does to it (`sends`), the events it reports (`reports`), the MIME message (`compose`), template
previews (`preview`), the suppression list (`suppressions`), claim checks of reply files
(`claims`), and reading inbound mail (`inbound/`)."""
