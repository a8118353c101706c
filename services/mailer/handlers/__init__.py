"""What the mailer does, one function per command or event, written against `services.mailer.ports`
(never a session, a driver or a broker): requests (`requests`), sending (`delivery`, `outcomes`),
the ledger and suppression list people manage (`sends`, `suppressions`), inbound mail (`inbound`)."""
