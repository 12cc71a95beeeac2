"""Servicing: what the portal does each day with what it learns. The daily run
(``portal servicing run``) ages accounts, judges plans and promises (plan health) and queues
reminders and the message after a broken plan, all from here."""
