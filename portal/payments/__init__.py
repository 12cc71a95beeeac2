"""Payments in: statement files (camt.053, camt.054, CSV) parsed, matched and posted.

``camt`` and ``csv_layout`` turn a file into :class:`~portal.payments.entries.StatementEntry`
values (validating everything before anything is written); ``matching`` finds the account
or plan an entry's remittance information names; ``service`` posts a chunk of entries,
idempotently, and un-posts what a reversal reverses; ``cli`` is ``portal payments import``.
"""
