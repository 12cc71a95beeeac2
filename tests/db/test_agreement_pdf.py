"""Agreement PDFs checked with independent tools: poppler (pdfsig, pdffonts, pdftoppm,
pdftotext) and pyHanko's own validator, for every plan type in every language.

Runs under CI (poppler-utils and libnss3-tools are in scripts/system-packages test);
outside CI it skips only when a tool is missing. The first page of each agreement is
written to test-artifacts/agreements/ for a person to look at.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from portal.agreements import fonts
from portal.extensions import db
from tests.conftest import ROOT, make_account, make_app, need, reset_schema
from tests.plan_factories import CURRENCIES, NAMES, ZONES, card_number, make_signed_agreement

PLAN_TYPES = ("installment", "relief", "settlement", "personalised")
LOCALES = ("en", "zh_Hans", "zh_Hant")
CASES = [(plan_type, locale) for locale in LOCALES for plan_type in PLAN_TYPES]
ARTIFACTS = ROOT / "test-artifacts" / "agreements"
TOOLS = ("pdfsig", "pdffonts", "pdftoppm", "pdftotext", "certutil")
COMPACT_FONTS = all(
    (ROOT / "instance" / fonts.FOLDER / name).is_file() for _family, name, _index, _system in fonts.FACES
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def agreements(tmp_path_factory: pytest.TempPathFactory):
    """Twelve signed agreements (4 plan types x 3 languages) and the bank certificate."""
    for tool in TOOLS:
        need(shutil.which(tool) is not None, f"{tool} (apt-get install poppler-utils libnss3-tools)")
    from flask_babel import force_locale

    from portal.agreements.models import Agreement
    from portal.agreements.signing import bank_key
    from portal.i18n import money, percent

    tmp = tmp_path_factory.mktemp("agreements")
    app = make_app(f"sqlite:///{tmp / 'pdf.sqlite3'}")
    reset_schema(app)
    made = {}
    for serial, (plan_type, locale) in enumerate(CASES, start=1):
        account = make_account(
            app,
            card=card_number(100 + serial),
            name=NAMES[locale],
            locale=locale,
            currency=CURRENCIES[locale],
            time_zone=ZONES[locale],
            reference=f"PDF{serial}",
        )
        agreement_id, reference = make_signed_agreement(app, account, plan_type, locale)
        with app.app_context(), force_locale(locale):
            agreement = db.session.get(Agreement, agreement_id)
            made[plan_type, locale] = {
                "pdf": agreement.pdf,
                "reference": reference,
                "name": NAMES[locale],
                "apr": percent(agreement.plan.apr),
                # Every schedule row in order, as pdftotext reads it back: amounts, left to right.
                "schedule": [
                    [
                        money(r.principal, agreement.plan.currency),
                        money(r.charge, agreement.plan.currency),
                        money(r.total, agreement.plan.currency),
                    ]
                    for r in agreement.plan.installments
                ],
            }
    with app.app_context():
        key = bank_key()
        cert_pem = tmp / "bank.pem"
        from cryptography.hazmat.primitives.serialization import Encoding

        cert_pem.write_bytes(key.certificate.public_bytes(Encoding.PEM))
        cert = key.cert_asn1
        db.engine.dispose()
    nss = tmp / "nss"
    nss.mkdir()
    assert run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password").returncode == 0
    # The development certificate is self-signed and its own CA: trust it as one.
    added = run("certutil", "-A", "-d", f"sql:{nss}", "-n", "bank", "-t", "C,C,C", "-i", str(cert_pem))
    assert added.returncode == 0, added.stderr
    return {"made": made, "cert": cert, "nss": nss, "tmp": tmp}


def signed_ranges(pdf: bytes) -> tuple[int, int, int, int]:
    found = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert found
    return tuple(int(n) for n in found.groups())  # type: ignore[return-value]


def one_byte_changed(pdf: bytes) -> bytes:
    """Change one character of the document's title (an uncompressed string well inside
    the first signed range), so the file still parses and only the digest breaks."""
    start, length, _second, _rest = signed_ranges(pdf)
    at = pdf.index(b"/Title") + 10
    assert start <= at < start + length
    changed = bytearray(pdf)
    changed[at] = ord("X") if changed[at] != ord("X") else ord("Y")
    return bytes(changed)


def pyhanko_status(pdf: bytes, cert):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from portal.agreements.signing import run_outside_event_loop

    signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    assert len(signatures) == 1
    # pyHanko runs its own event loop, which must not be the thread's running one.
    return run_outside_event_loop(
        lambda: validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[cert], allow_fetching=False))
    )


@pytest.mark.parametrize(("plan_type", "locale"), CASES)
def test_pdfsig_and_pyhanko_accept_the_signature_over_the_whole_file(agreements, plan_type, locale, tmp_path):
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    pdf = agreements["made"][plan_type, locale]["pdf"]
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    result = run("pdfsig", "-nssdir", f"sql:{agreements['nss']}", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Validation: Signature is Valid." in result.stdout
    assert "Certificate Validation: Certificate is Trusted." in result.stdout
    assert "Total document signed" in result.stdout
    assert "Signature Type: ETSI.CAdES.detached" in result.stdout
    start, _first, second, rest = signed_ranges(pdf)
    assert start == 0 and second + rest == len(pdf)

    status = pyhanko_status(pdf, agreements["cert"])
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line


@pytest.mark.parametrize(("plan_type", "locale"), CASES)
def test_one_changed_byte_is_rejected_by_both(agreements, plan_type, locale, tmp_path):
    changed = one_byte_changed(agreements["made"][plan_type, locale]["pdf"])
    path = tmp_path / "changed.pdf"
    path.write_bytes(changed)
    result = run("pdfsig", "-nssdir", f"sql:{agreements['nss']}", str(path))
    assert "Signature is Valid." not in result.stdout
    assert "Digest Mismatch" in result.stdout or "Signature is Invalid" in result.stdout, result.stdout

    status = pyhanko_status(changed, agreements["cert"])
    assert not status.intact and not status.bottom_line


@pytest.mark.parametrize(("plan_type", "locale"), CASES)
def test_fonts_are_embedded_and_subset_and_the_text_is_there(agreements, plan_type, locale, tmp_path):
    made = agreements["made"][plan_type, locale]
    path = tmp_path / "agreement.pdf"
    path.write_bytes(made["pdf"])

    fonts = run("pdffonts", str(path))
    assert fonts.returncode == 0, fonts.stderr
    rows = fonts.stdout.splitlines()[2:]
    assert rows, fonts.stdout
    for row in rows:
        # name type encoding emb sub uni object-id gen: the flags are fixed columns from the end.
        emb, sub, _uni = row.split()[-5:-2]
        assert (emb, sub) == ("yes", "yes"), row
        assert re.match(r"[A-Z]{6}\+", row), row
    # The two faces of WenQuanYi Micro Hei, each once: the family has no bold face, and a
    # bold request would embed the same glyphs again as a third font. Once `make setup`
    # has built the compact copies, they hold every character these agreements print.
    faces = sorted(row.split()[0].split("+", 1)[1] for row in rows)
    family = "Agreement-Hei" if COMPACT_FONTS else "WenQuanYi-Micro-Hei"
    assert faces in ([family], [family, f"{family}-Mono"]), fonts.stdout

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / f"{plan_type}-{locale}"
    shown = run("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path), str(png))
    assert shown.returncode == 0, shown.stderr
    assert png.with_suffix(".png").stat().st_size > 5000

    text = run("pdftotext", "-enc", "UTF-8", str(path), "-")
    assert text.returncode == 0, text.stderr
    flat = re.sub(r"\s+", "", text.stdout)
    assert made["reference"] in flat
    assert made["name"].replace(" ", "") in flat
    assert made["apr"] in flat
    title = {"en": "Repaymentagreement", "zh_Hans": "还款协议", "zh_Hant": "還款協議"}[locale]
    assert title in flat
    # The fixed-width schedule reads back row by row, each row's amounts in column order.
    position = 0
    for row in made["schedule"]:
        found = flat.find("".join(row).replace(" ", "").replace("\u00a0", ""), position)
        assert found >= position, (row, flat[position : position + 200])
        position = found


def test_every_plan_type_and_language_was_rendered(agreements):
    assert set(agreements["made"]) == {(p, loc) for p in PLAN_TYPES for loc in LOCALES}
    assert len({made["reference"] for made in agreements["made"].values()}) == len(CASES)


def test_artifacts_directory_is_inside_the_repository():
    assert Path(ARTIFACTS).is_relative_to(ROOT)


@pytest.mark.parametrize(("plan_type", "locale"), CASES)
def test_the_pdf_is_tagged_for_screen_readers(agreements, plan_type, locale, tmp_path):
    need(shutil.which("pdfinfo") is not None, "pdfinfo (apt-get install poppler-utils)")
    path = tmp_path / "agreement.pdf"
    path.write_bytes(agreements["made"][plan_type, locale]["pdf"])
    info = run("pdfinfo", str(path))
    assert info.returncode == 0, info.stderr
    assert re.search(r"^Tagged:\s+yes$", info.stdout, re.M), info.stdout
