"""Plumbing every service uses: settings, logging, MongoDB, Kafka, outbox, idempotent consumers,
dead letters, health, metrics, auth and the clock. No business rules live here."""
