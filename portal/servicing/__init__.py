"""Servicing: what the portal does each day with what it learns (plan health, reminders,
the message after a broken plan). The daily run (``portal servicing run``) calls in here."""
