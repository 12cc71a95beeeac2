"""Counting the code tries of a pending sign-in, so that parallel guesses on several
workers or nodes can never exceed the limit.

In the database (the default) the try is counted on the ``OneTimeCode`` row by one
conditional UPDATE; parallel tries wait for each other on the row's lock until their
requests commit. In the shared Redis (when ``PORTAL_REDIS_URL`` is set) the count is an
atomic INCR of a key that expires with the code, so tries on different nodes are counted
at once without a row lock held across a request. Either way exactly one try sees the
count reach the limit: that one ends the challenge and locks the card, on the account
row in the database, where the lock is durable and audited (``portal.auth.service``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal import redis_store
from portal.auth.models import OneTimeCode
from portal.db_types import rowcount
from portal.extensions import db

KEY = redis_store.PREFIX + "otp:"


def count_attempt(otp: OneTimeCode, limit: int, lifetime: timedelta) -> int | None:
    """Count one try at ``otp``; return how many it has had with this one, or None when
    it had ``limit`` already (the try is not counted and must not succeed)."""
    redis = redis_store.client()
    if redis is None:
        counted = rowcount(
            db.session.execute(
                update(OneTimeCode)
                .where(OneTimeCode.id == otp.id, OneTimeCode.attempts < limit)
                .values(attempts=OneTimeCode.attempts + 1)
            )
        )
        db.session.refresh(otp)
        return otp.attempts if counted else None
    key = f"{KEY}{otp.challenge_hash}"  # unique and random, unlike an id a rollback may reuse
    with redis.pipeline() as pipe:  # MULTI … EXEC: the key never lives without its expiry
        pipe.set(key, 0, nx=True, ex=lifetime)
        pipe.incr(key)
        _, attempts = pipe.execute()
    return int(attempts) if attempts <= limit else None
