"""Adapters to the outside world: message channels (SMS, e-mail) and their development twin."""
