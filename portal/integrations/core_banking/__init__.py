"""The core banking system: plan events out (webhooks through the outbox, a daily file)."""
