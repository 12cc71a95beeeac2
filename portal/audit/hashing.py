"""The audit chain's hashes and MACs, for every chain version.

Version 1 (plain) and 2 (keyed) hash an event's content together with the previous
event's hash, so they could only be computed under a lock holding the chain's head.
Version 3 splits that in two: :func:`content_mac` when the event is written (no lock,
nothing else read), and :func:`link_hash` when the sealer gives it a place in the chain.
The link binds the event's chain position, its id, the previous link and its content
MAC, so moving, renumbering or changing a sealed event breaks it. The key
(``PORTAL_AUDIT_KEY``) is not in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flask import current_app

from portal.audit.models import CHAIN_KEYED, CHAIN_PLAIN, CHAIN_SEALED

GENESIS = "0" * 64


def audit_key() -> bytes:
    """The chain key (``PORTAL_AUDIT_KEY``), from the app configuration."""
    return str(current_app.config["AUDIT_KEY"]).encode()


def _canonical(event: Any, version: int) -> bytes:
    payload = {
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "ip": event.ip,
    }
    if version == CHAIN_SEALED:
        payload["nonce"] = event.nonce  # two identical events still get different MACs
    else:
        payload["prev_hash"] = event.prev_hash  # versions 1 and 2 chain inside the content hash
    if version != CHAIN_PLAIN:
        payload["chain_version"] = version
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_mac(event: Any, key: bytes | None = None) -> str:
    """Version 3: the keyed MAC of the event's own content, computed when it is written."""
    return hmac.new(key or audit_key(), b"audit-event:" + _canonical(event, CHAIN_SEALED), hashlib.sha256).hexdigest()


def link_hash(position: int, event_id: int, prev_hash: str, mac: str, key: bytes | None = None) -> str:
    """Version 3: the event's link in the chain, computed by the sealer."""
    message = f"audit-link:{position}:{event_id}:{prev_hash}:{mac}".encode()
    return hmac.new(key or audit_key(), message, hashlib.sha256).hexdigest()


def event_hash(event: Any, key: bytes | None = None) -> str:
    """What the event's ``hash`` must be for its chain version: plain SHA-256 (1),
    HMAC-SHA-256 over content and previous hash (2), or the link over its position, id,
    previous link and the MAC of its current content (3, sealed events only)."""
    version = event.chain_version or CHAIN_KEYED
    if version == CHAIN_PLAIN:
        return hashlib.sha256(_canonical(event, version)).hexdigest()
    if version == CHAIN_KEYED:
        return hmac.new(key or audit_key(), _canonical(event, version), hashlib.sha256).hexdigest()
    if event.position is None or event.prev_hash is None:
        raise ValueError(f"audit event {event.id} is not sealed yet: it has no link")
    return link_hash(event.position, event.id, event.prev_hash, content_mac(event, key), key)


def head_mac(event_id: int, hash_: str, key: bytes | None = None) -> str:
    """The seal of the newest event: only the key's holder can write a valid one."""
    return hmac.new(key or audit_key(), f"audit-head:{event_id}:{hash_}".encode(), hashlib.sha256).hexdigest()
