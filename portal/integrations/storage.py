"""Where signed agreement PDFs are kept: in the agreement's own database row (the default,
and the development twin) or in an S3-compatible object store (``PORTAL_AGREEMENT_STORE=s3``).

A store takes bytes and returns a :class:`StoredDocument`, what the agreement row keeps:
the bytes themselves (database) or the object's key (S3). Reading takes that back. The
SHA-256 of what the bank signed stays in the row, in the database, and the caller checks
every read against it (``portal.agreements.service``): an object changed in the bucket is
refused, whoever could write there.

Object keys are random (``<prefix><32 random bytes, base32>.pdf``), never the agreement's
reference or id, so nobody who learns a reference can guess where its file is. Objects
are written as ``application/pdf`` with their SHA-256 as the S3 checksum, so the store
itself refuses an upload that arrived changed.

A row written while the deployment stored in the database keeps its bytes and is read
from there after a switch to S3: reading follows the row, writing follows the setting.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/pdf"


class StorageError(RuntimeError):
    """The store could not keep or return a document (unreachable, refused, missing).
    The reason names no person and no key."""


@dataclass(frozen=True)
class StoredDocument:
    """Where one document is: its bytes kept in the row (``inline``) or an object ``key``."""

    inline: bytes | None = None
    key: str | None = None


class DocumentStore(Protocol):
    name: str

    def put(self, data: bytes, sha256: str) -> StoredDocument:
        """Keep ``data`` (whose SHA-256, hex, is ``sha256``); say where it is."""
        ...

    def get(self, stored: StoredDocument) -> bytes:
        """The bytes kept at ``stored``; raises StorageError if they cannot be had."""
        ...

    def delete(self, stored: StoredDocument) -> None:
        """Forget a document that no row will point at (an upload whose unit rolled back)."""
        ...


class DatabaseStore:
    """The default: the bytes go into the agreement's row, in the same transaction."""

    name = "database"

    def put(self, data: bytes, sha256: str) -> StoredDocument:
        return StoredDocument(inline=data)

    def get(self, stored: StoredDocument) -> bytes:
        if stored.inline is None:
            raise StorageError("the row holds no document")
        return stored.inline

    def delete(self, stored: StoredDocument) -> None:
        return None  # rolled back with its row


def new_key(prefix: str) -> str:
    """A key nobody can guess: 160 random bits, base32 (safe in any S3 key and URL)."""
    return f"{prefix}{base64.b32encode(secrets.token_bytes(20)).decode().lower()}.pdf"


class S3Store:
    """An S3-compatible object store through boto3 (AWS S3, MinIO, Ceph, …)."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "agreements/",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        # Without keys, boto3 finds credentials as AWS tools do (instance role, AWS_* variables).
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                connect_timeout=5,
                read_timeout=20,
                retries={"max_attempts": 3, "mode": "standard"},
                # Path-style addressing works on every S3-compatible server, virtual hosts need DNS.
                s3={"addressing_style": "path"},
            ),
        )

    def put(self, data: bytes, sha256: str) -> StoredDocument:
        from botocore.exceptions import BotoCoreError, ClientError

        key = new_key(self.prefix)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=CONTENT_TYPE,
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                Metadata={"sha256": sha256},
            )
        except (BotoCoreError, ClientError) as problem:
            raise StorageError(f"the object store refused the upload ({_reason(problem)})") from None
        return StoredDocument(key=key)

    def get(self, stored: StoredDocument) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if stored.key is None:
            raise StorageError("the row names no object")
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=stored.key)
            return bytes(answer["Body"].read())
        except (BotoCoreError, ClientError) as problem:
            raise StorageError(f"the object store could not return the document ({_reason(problem)})") from None

    def delete(self, stored: StoredDocument) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if stored.key is None:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=stored.key)
        except (BotoCoreError, ClientError) as problem:
            log.warning("an unused agreement object could not be deleted (%s)", _reason(problem))


def _reason(problem: Exception) -> str:
    code = getattr(problem, "response", {}).get("Error", {}).get("Code")
    return str(code) if code else type(problem).__name__


class Stores:
    """One app's stores: where new documents go (``AGREEMENT_STORE``), and where a stored
    one is read from (its row says: bytes, or an object key). Clients are made once."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._database = DatabaseStore()
        self._s3: S3Store | None = None

    def _object_store(self) -> S3Store:
        if self._s3 is None:
            if not self.config.get("S3_BUCKET"):
                raise StorageError("an agreement is kept in an object store, but no PORTAL_S3_BUCKET is set")
            self._s3 = S3Store(
                bucket=self.config["S3_BUCKET"],
                prefix=self.config.get("S3_PREFIX") or "agreements/",
                endpoint_url=self.config.get("S3_ENDPOINT_URL") or None,
                region=self.config.get("S3_REGION") or None,
                access_key_id=self.config.get("S3_ACCESS_KEY_ID") or None,
                secret_access_key=self.config.get("S3_SECRET_ACCESS_KEY") or None,
            )
        return self._s3

    def writer(self) -> DocumentStore:
        return self._object_store() if self.config.get("AGREEMENT_STORE") == "s3" else self._database

    def reader(self, stored: StoredDocument) -> DocumentStore:
        return self._database if stored.key is None else self._object_store()
