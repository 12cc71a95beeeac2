"""Adapters to the outside world, each a small interface with a real adapter and a
development twin: message channels (SMS, e-mail, webhooks; the outbox page) and the
agreement store (an S3-compatible object store; the database)."""
