"""The bank's signing key: loading it, signing agreement PDFs (PAdES) and checking them.

Production reads a PKCS#12 file (``PORTAL_SIGNING_P12``, passphrase in
``PORTAL_SIGNING_P12_PASSWORD``). Development generates an RSA-3072 key and a
self-signed certificate for the bank's name under ``instance/`` on first use (the key
file readable by its owner only). Either way the loaded key is cached per process:
parsing a PKCS#12 file or a PEM key on every agreement would cost more than signing.

Checking trusts exactly the bank's certificates: a PDF is genuine only when its one
signature is intact, made with the current certificate or one the bank signed with
before a key rotation (``PORTAL_SIGNING_EARLIER_CERTS``), and covers the whole file.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import current_app

T = TypeVar("T")

DEV_KEY_NAME = "agreement-signing.key"
DEV_CERT_NAME = "agreement-signing.crt"
SIGNATURE_FIELD = "BankSignature"


class SigningUnavailableError(RuntimeError):
    """The bank's key cannot be loaded; the message names the setting, never a secret."""


@dataclass(frozen=True)
class BankKey:
    """The loaded key material and where it came from (for ``portal keys``)."""

    certificate: x509.Certificate
    private_key: object  # a cryptography private key; never printed
    source: str  # "pkcs12" or "development"
    paths: tuple[str, ...]

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate, as colon-separated hex pairs."""
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()

    @property
    def cert_asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(serialization.Encoding.DER))


_cache: dict[tuple[object, ...], tuple[BankKey, object]] = {}
_lock = threading.Lock()


def _generate_dev_key(directory: Path, bank_name: str) -> None:
    """Write a fresh key (0600) and a 10-year self-signed certificate for ``bank_name``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, bank_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, bank_name),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        # Marked as its own (path-length 0) CA: NSS, and so pdfsig, accepts a self-signed
        # certificate as a trust anchor only if it is a CA, not as a trusted peer.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / DEV_KEY_NAME, directory / DEV_CERT_NAME
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(key_path, 0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_dev_key(directory: Path, bank_name: str) -> BankKey:
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / DEV_KEY_NAME, directory / DEV_CERT_NAME
    # Two processes starting at once must not each make a key: the second would
    # overwrite the first's, and what the first signed would no longer verify.
    with open(directory / "agreement-signing.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (key_path.exists() and cert_path.exists()):
                _generate_dev_key(directory, bank_name)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return BankKey(certificate, private_key, "development", (str(cert_path), str(key_path)))


def _load_p12(path: str, password: str) -> BankKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningUnavailableError(f"PORTAL_SIGNING_P12 names a file that cannot be read ({exc.strerror})") from None
    try:
        private_key, certificate, _others = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError:
        raise SigningUnavailableError(
            "PORTAL_SIGNING_P12 could not be opened: check PORTAL_SIGNING_P12_PASSWORD"
        ) from None
    if private_key is None or certificate is None:
        raise SigningUnavailableError("PORTAL_SIGNING_P12 must hold one private key and its certificate")
    return BankKey(certificate, private_key, "pkcs12", (path,))


def check_p12(path: str, password: str) -> None:
    """Raise ``SigningUnavailableError`` unless the PKCS#12 file opens with ``password``:
    production checks at start-up, rather than leaving every agreement pending."""
    _load_p12(path, password)


def _signer(key: BankKey) -> object:
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class LoadedKeySigner(SimpleSigner):
        """SimpleSigner re-parses its DER key for every signature (twice per PDF: a
        dummy to size the field, then the real one), and cryptography checks an RSA key
        on every load: ~0.2 s each for RSA-3072. This one signs with the loaded key."""

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            if isinstance(key.private_key, rsa.RSAPrivateKey) and mechanism.signature_algo == "rsassa_pkcs1v15":
                return key.private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            return super().sign_raw(data, digest_algorithm)

    der_key = key.private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return LoadedKeySigner(
        signing_cert=key.cert_asn1,
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore(),
    )


def _loaded() -> tuple[BankKey, object]:
    config = current_app.config
    p12 = config.get("SIGNING_P12") or ""
    if p12:
        try:
            stamp: object = os.stat(p12).st_mtime_ns
        except OSError:
            stamp = None
        cache_key: tuple[object, ...] = ("p12", p12, stamp)
    else:
        directory = Path(config.get("SIGNING_DEV_DIR") or current_app.instance_path)
        cache_key = ("dev", str(directory), config["BANK_NAME"])
    with _lock:
        found = _cache.get(cache_key)
        if found is None:
            if p12:
                key = _load_p12(p12, config.get("SIGNING_P12_PASSWORD") or "")
            else:
                key = _load_dev_key(directory, config["BANK_NAME"])
            found = _cache[cache_key] = (key, _signer(key))
        return found


def bank_key() -> BankKey:
    """The bank's key and certificate (generated in development on first use)."""
    return _loaded()[0]


_timestampers: dict[str, object] = {}


def timestamper() -> object | None:
    """An RFC 3161 client for ``PORTAL_TSA_URL``, or None when no TSA is configured."""
    url = current_app.config.get("TSA_URL") or ""
    if not url:
        return None
    with _lock:
        if url not in _timestampers:
            from pyhanko.sign.timestamps import HTTPTimeStamper

            # Kept per process: pyHanko caches the TSA's dummy reply used to size the
            # signature, so later signatures need one request to the TSA, not two.
            _timestampers[url] = HTTPTimeStamper(url, timeout=10)
        return _timestampers[url]


def run_outside_event_loop(work: Callable[[], T]) -> T:
    """Run ``work`` where no asyncio loop is running in the thread.

    pyHanko's synchronous API starts its own event loop (``asyncio.run``), which fails
    in a thread that already runs one (an async server, gevent, Playwright in tests).
    There the work goes to a short-lived worker thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(work).result()


def sign_pdf(pdf: bytes, *, reason: str, location: str) -> bytes:
    """Sign ``pdf`` with the bank's key: a PAdES (ETSI.CAdES.detached) signature over
    the whole file, with an RFC 3161 timestamp when a TSA is configured."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    _key, signer = _loaded()
    stamper = timestamper()
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    # Without a size, pyHanko builds and signs a dummy signature first to measure it:
    # a third of the signing time. The space it then reserves depends only on the key,
    # the certificate and the TSA (whose dummy reply pyHanko caches), so the first
    # signature's reservation is reused for every later one in this process.
    sizing = (id(signer), id(stamper))
    reserved = _reservations.get(sizing)

    def work() -> bytes:
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
        pdf_signer = signers.PdfSigner(meta, signer, timestamper=stamper)  # type: ignore[arg-type]
        return pdf_signer.sign_pdf(writer, bytes_reserved=reserved).getvalue()

    signed = run_outside_event_loop(work)
    if reserved is None:
        _reservations[sizing] = reserved_signature_size(signed)
    return signed


# (id of the signer, id of the timestamper) → hex digits pyHanko reserved for the CMS.
# Both objects live as long as the process (cached above), so their ids stay theirs.
_reservations: dict[tuple[int, int], int] = {}


def reserved_signature_size(signed: bytes) -> int:
    """The hex digits reserved for the signature in a PDF this module signed: the gap
    its /ByteRange leaves, less the two angle brackets around /Contents."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    signature = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
    _, first_length, second_start, _ = (int(n) for n in signature.sig_object["/ByteRange"])
    return second_start - first_length - 2


@dataclass(frozen=True)
class SignatureCheck:
    """What checking a PDF's signature found. ``problem`` is a short English reason."""

    ok: bool
    problem: str | None = None
    signed_at: datetime | None = None


def check_signature(data: bytes) -> SignatureCheck:
    """Is ``data`` a PDF with exactly one signature, intact, by the bank's certificate,
    covering the whole file? Never raises for bad input."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not data.startswith(b"%PDF-"):
        return SignatureCheck(False, "not a PDF file")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception:
        return SignatureCheck(False, "the PDF cannot be read")
    if len(signatures) != 1:
        return SignatureCheck(False, f"expected one signature, found {len(signatures)}")
    trusted = trusted_certificates()
    context = ValidationContext(trust_roots=trusted, allow_fetching=False)
    try:
        status = run_outside_event_loop(lambda: validate_pdf_signature(signatures[0], context))
    except Exception:
        return SignatureCheck(False, "the signature cannot be read")
    if not status.intact:
        return SignatureCheck(False, "the document was changed after it was signed")
    if not status.valid:
        return SignatureCheck(False, "the signature is not valid")
    if status.signing_cert.dump() not in {cert.dump() for cert in trusted} or not status.trusted:
        return SignatureCheck(False, "the signature was not made with the bank's certificate")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureCheck(False, "the signature does not cover the whole file")
    return SignatureCheck(True, None, status.signer_reported_dt)


def trusted_certificates() -> list[asn1_x509.Certificate]:
    """The bank's current signing certificate, then those it signed with before (from
    ``PORTAL_SIGNING_EARLIER_CERTS``): agreements signed before a key rotation stay
    genuine."""
    path = current_app.config.get("SIGNING_EARLIER_CERTS") or ""
    earlier: tuple[asn1_x509.Certificate, ...] = ()
    if path:
        try:
            stamp: object = os.stat(path).st_mtime_ns
        except OSError as problem:
            raise SigningUnavailableError(f"PORTAL_SIGNING_EARLIER_CERTS cannot be read: {problem}") from None
        earlier = _earlier_certificates(path, stamp)
    return [bank_key().cert_asn1, *earlier]


@lru_cache(maxsize=4)
def _earlier_certificates(path: str, _stamp: object) -> tuple[asn1_x509.Certificate, ...]:
    # Keyed on the file's modification time as well: replacing the file takes effect.
    certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    return tuple(asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certificates)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
