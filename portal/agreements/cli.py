"""``flask --app wsgi portal agreements retry|verify FILE`` and ``portal keys``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from portal.agreements.service import produce_pending, verify_document
from portal.agreements.signing import bank_key, trusted_certificates

agreements_cli = AppGroup("agreements", help="Signed agreement PDFs.")


@agreements_cli.command("retry")
def retry_command() -> None:
    """Render and sign every pending agreement. Exits 1 if any still failed."""
    result = produce_pending()
    click.echo(f"Pending agreements: {result.pending}. Produced: {result.produced}. Failed: {result.failed}.")
    if result.failed:
        sys.exit(1)


@agreements_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Exit 0 if FILE is a genuine agreement (bank signature valid over the whole file
    and its SHA-256 matches a stored agreement), else print why and exit 1."""
    verdict = verify_document(file.read_bytes())
    if verdict.genuine:
        click.echo(
            f"GENUINE: {verdict.reference} ({verdict.plan_type}), signed {verdict.signed_at:%Y-%m-%d %H:%M} UTC"
            f" by the bank; {verdict.detail}."
        )
        return
    click.echo(f"NOT GENUINE: {verdict.detail}.")
    sys.exit(1)


@click.command("keys")
@with_appcontext
def keys_command() -> None:
    """Show the bank's agreement-signing certificate (never the private key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = bank_key()
    cert = key.certificate
    public = cert.public_key()
    size = getattr(public, "key_size", None) or getattr(getattr(public, "curve", None), "key_size", "")
    click.echo(f"Source:      {'PKCS#12 file (PORTAL_SIGNING_P12)' if key.source == 'pkcs12' else 'development key'}")
    click.echo(f"Subject:     {key.subject}")
    click.echo(f"Issuer:      {cert.issuer.rfc4514_string()}")
    click.echo(f"SHA-256:     {key.fingerprint}")
    click.echo(f"Valid from:  {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    click.echo(f"Valid until: {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    click.echo(f"Key:         {type(public).__name__.replace('PublicKey', '').lstrip('_')} {size}")
    for path in key.paths:
        click.echo(f"Path:        {path}")
    earlier = [x509.load_der_x509_certificate(c.dump()) for c in trusted_certificates()[1:]]
    click.echo(f"Earlier certificates still trusted for checking (PORTAL_SIGNING_EARLIER_CERTS): {len(earlier)}")
    for old in earlier:
        fingerprint = old.fingerprint(hashes.SHA256()).hex(":").upper()
        click.echo(f"  {old.subject.rfc4514_string()}, valid until {old.not_valid_after_utc:%Y-%m-%d}")
        click.echo(f"    SHA-256 {fingerprint}")
