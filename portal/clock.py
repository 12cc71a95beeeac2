"""The one place that reads the wall clock, so tests can freeze time."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Aware UTC now, or the frozen instant while a test holds the clock."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(instant: datetime | None) -> None:
    """Freeze the clock at ``instant`` (aware), or unfreeze with ``None``."""
    global _frozen
    if instant is not None and instant.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = instant


def frozen_at() -> datetime | None:
    """The instant the clock is frozen at, or None (to put it back after moving it)."""
    return _frozen
