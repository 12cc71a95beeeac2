"""The core banking system's side of the portal: its signed JSON API in (``portal.api``),
and plan events out (webhooks through the outbox, a daily file).

``signatures`` checks the Standard Webhooks signature of a call; ``guard`` refuses a
replayed message and makes a call idempotent by its ``Idempotency-Key``; ``body`` reads
the JSON (amounts as strings, never floats); ``snapshots`` and ``payments`` are the two
use cases. Payments go through the same service as statement files
(``portal.payments.service.post_entries``). ``plan_events`` records what happened to a
plan and queues its webhook; ``export`` writes a day's events as a file.
"""
