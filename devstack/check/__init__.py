"""The consistency checker (`make check`): across the services of a running stack, holds against
dunning's pauses, emails against the mailer's ledger, indicators against a recompute from followups,
outboxes, dead letters. See docs/reliability.md."""
