"""Rendering an agreement to PDF with WeasyPrint, in the plan's language.

WeasyPrint fetches stylesheets, images and fonts through a URL fetcher. Ours serves
only the portal's own static files under the private ``portal-static:`` scheme and
refuses everything else (``file:``, ``http(s):``, ``data:``…), so a template can never
make the renderer read the server's disk or reach the network; it also serves the
compact agreement fonts built at set-up (`portal.agreements.fonts`) under
``portal-font:``. The fonts are WenQuanYi Micro Hei for every script: those compact
copies first, the system font through fontconfig for any character they lack, embedded
and subset by WeasyPrint.

The stylesheet and the font configuration are loaded once per process, PDF streams
are deflated at zlib's default level rather than pydyf's 9 (`_PdfZlib`), each PDF
object is serialised once, not twice (`_serialise_once`), and the user-agent stylesheet
leaves out the pseudo-elements an agreement never has (`lean_user_agent_css`).
"""

from __future__ import annotations

import atexit
import gc
import mimetypes
import re
import threading
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel.numbers import format_currency, get_currency_name
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from portal import jurisdictions
from portal.accounts.models import CardAccount
from portal.agreements import fonts
from portal.agreements.key_terms import key_terms
from portal.agreements.models import Agreement
from portal.agreements.schedule_grid import ScheduleGrid, fixed_width, schedule_grid
from portal.extensions import db
from portal.i18n import LOCALES, local_date, money, percent
from portal.plans.models import Plan

STATIC_SCHEME = "portal-static:"
STYLESHEET = STATIC_SCHEME + "agreements/agreement.css"
_SERVED_SUFFIXES = {".css", ".png", ".svg", ".jpg", ".woff", ".woff2", ".ttf", ".otf"}


class RefusedURLError(ValueError):
    """The renderer asked for something other than one of the portal's static files."""


def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves ``portal-static:<path>`` from the static folder; refuses anything else."""

        def __init__(self, static_dir: Path, font_dir: Path | None = None) -> None:
            super().__init__(allowed_protocols=())
            self.static_dir = static_dir.resolve()
            self.font_dir = font_dir

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith(fonts.SCHEME):
                return self.fetch_font(url[len(fonts.SCHEME) :])
            if not url.startswith(STATIC_SCHEME):
                raise RefusedURLError(f"refused {url.split(':', 1)[0]!r} URL: only portal static files are served")
            relative = url[len(STATIC_SCHEME) :].split("?", 1)[0].split("#", 1)[0].lstrip("/")
            path = (self.static_dir / relative).resolve()
            if (
                not path.is_relative_to(self.static_dir)
                or path.suffix.lower() not in _SERVED_SUFFIXES
                or not path.is_file()
            ):
                raise RefusedURLError("refused: not a portal static file")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})

        def fetch_font(self, name: str) -> Any:
            """One of the compact agreement fonts, by its file name; nothing else from that folder."""
            if self.font_dir is None or name not in {file for _family, file, _index, _system in fonts.FACES}:
                raise RefusedURLError("refused: not a compact agreement font")
            path = self.font_dir / name
            if not path.is_file():
                raise RefusedURLError("refused: the compact agreement font is missing")
            return URLFetcherResponse(fonts.SCHEME + name, body=path.read_bytes(), headers={"Content-Type": "font/ttf"})

    return StaticOnlyFetcher


def static_fetcher(static_dir: Path | None = None, font_dir: Path | None = None) -> Any:
    """A WeasyPrint URL fetcher that loads only the portal's static files (and the compact
    agreement fonts in `font_dir`)."""
    folder = static_dir or Path(current_app.static_folder or "")
    return _fetcher_class()(folder, font_dir)


# zlib's default level. pydyf deflates every stream at level 9: for a 60-installment
# agreement's ~550 KB of streams (page contents, object streams, the compact font
# subsets) that takes ~30 ms; level 6 takes half of it for a PDF 1% larger, inflated by
# any reader alike. (With the system font's subsets, ~2 MB spanning its ~49,000 glyph
# ids, it was ~40 ms against ~18.)
STREAM_LEVEL = 6


class _PdfZlib:
    """The zlib module as pydyf sees it: the same, but new compressors at `STREAM_LEVEL`."""

    def compressobj(self, level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(STREAM_LEVEL, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)


def _deflate_at_default_level() -> None:
    """Point pydyf (used only by WeasyPrint, only for agreements) at `_PdfZlib`."""
    import pydyf

    if getattr(pydyf, "zlib", None) is zlib:
        pydyf.zlib = _PdfZlib()


def _data_once(obj: Any) -> bytes:
    """A pydyf object's bytes (its class's `data`), made on first use and kept on it."""
    kept = obj.__dict__.get("_serialised")
    if kept is None:
        kept = obj.__dict__["_serialised"] = _made_by[type(obj)](obj)
    return kept


# A pydyf class → its subclass whose `data` is `_data_once`; that subclass → the
# getter of the original `data`, which `_data_once` calls the first time.
_serialised_once: dict[type, type] = {}
_made_by: dict[type, Callable[[Any], bytes]] = {}


def _serialise_once(_document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: each object of `pdf` makes its bytes once (`_data_once`).

    pydyf writes a PDF that has an identifier twice over: each object once into the
    file, then the bytes of every object again, joined, for the MD5 that ends the /ID
    (each content stream rebuilt from its operators and deflated anew, each font subset
    deflated anew). With the bytes kept, that second pass only joins them: the same file
    byte for byte, pydyf's part of a 60-installment agreement ~40 -> ~25 ms of CPU.
    Nothing changes an object once WeasyPrint hands the PDF to pydyf to write.
    """
    for obj in pdf.objects:
        if obj.free == "f":
            continue
        kind = type(obj)
        if kind in _made_by:  # already keeps its bytes
            continue
        kept = _serialised_once.get(kind)
        if kept is None:
            kept = type(kind.__name__, (kind,), {"__slots__": (), "data": property(_data_once)})
            _made_by[kept] = kind.data.fget
            _serialised_once[kind] = kept
        obj.__class__ = kept


# WeasyPrint's user-agent stylesheet styles six pseudo-elements of *every* element
# (``::marker`` and the footnote and note calls and markers): each element then gets six
# more computed styles, made and thrown away on every agreement (a tenth of its layout
# time, and garbage for the cyclic collector afterwards). An agreement has no footnotes
# or notes, and its only list items are <li>, so the stylesheet it is laid out with
# styles ``li::marker`` alone and leaves the rest out: the same pages, pixel for pixel.
_UNIVERSAL_MARKER = "\n::marker {"
_NOTE_RULES = re.compile(r"\n::(?:footnote-call|footnote-marker|note-call|note-marker|note-callback) \{[^}]*\}")


def lean_user_agent_css(stock: str) -> str | None:
    """`stock` (WeasyPrint's user-agent stylesheet) with ``::marker`` narrowed to
    ``li::marker`` and the footnote and note pseudo-element rules left out; None when
    the stylesheet no longer reads as expected (an upgrade), to use it unchanged."""
    if stock.count(_UNIVERSAL_MARKER) != 1:
        return None
    lean = _NOTE_RULES.sub("", stock.replace(_UNIVERSAL_MARKER, "\nli::marker {"))
    if "\n::" in lean:
        return None
    return lean


def _html_class() -> type:
    """WeasyPrint's HTML document, laid out with `lean_user_agent_css` when it applies."""
    from weasyprint import CSS, HTML
    from weasyprint.css.counters import CounterStyle
    from weasyprint.html import UA, UA_FORM_STYLESHEET

    lean = lean_user_agent_css(UA)
    if lean is None:
        return HTML
    # Its @counter-style rules go to a dictionary of their own: WeasyPrint's (filled when
    # it read the stock stylesheet, and the one a layout uses) refuses "disc" and
    # "decimal" a second time, with a warning each.
    sheet = CSS(string=lean, counter_style=CounterStyle())

    class AgreementHTML(HTML):
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [sheet, UA_FORM_STYLESHEET] if forms else [sheet]

    return AgreementHTML


@dataclass
class _Renderer:
    fetcher: Any
    font_config: Any
    stylesheets: list[Any]
    html: type  # WeasyPrint's HTML class, or `_html_class`'s


_renderers: dict[tuple[str, str], _Renderer] = {}
_render_lock = threading.Lock()
# A font configuration with @font-face fonts removes its temporary copies of them when
# deleted, which at interpreter shutdown comes too late (its module is already gone).
atexit.register(_renderers.clear)


def font_folder() -> Path:
    """Where `make setup` (scripts/agreement-fonts) writes the compact agreement fonts."""
    return Path(current_app.instance_path) / fonts.FOLDER


def _renderer() -> _Renderer:
    """The fetcher, font configuration and parsed stylesheets, made once per process
    (compact fonts written later are used from the next process on)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    folder = str(Path(current_app.static_folder or "").resolve())
    font_dir = font_folder().resolve()
    found = _renderers.get((folder, str(font_dir)))
    if found is None:
        _deflate_at_default_level()
        fetcher = static_fetcher(Path(folder), font_dir)
        config = FontConfiguration()
        sheets = []
        if faces := fonts.face_rules(font_dir):
            sheets.append(CSS(string=faces, base_url=fonts.SCHEME, url_fetcher=fetcher, font_config=config))
        sheets.append(CSS(url=STYLESHEET, url_fetcher=fetcher, font_config=config))
        found = _renderers[folder, str(font_dir)] = _Renderer(fetcher, config, sheets, _html_class())
    return found


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ").replace("<", "\\3C ")
    return f'"{escaped}"'


def page_counter_content() -> str:
    """A CSS ``content`` value for "Page 2 of 5" in the active language."""
    text = _("Page %(page)s of %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    parts = []
    for piece in re.split(r"(\x00pages?\x00)", text):
        if piece == "\x00page\x00":
            parts.append("counter(page)")
        elif piece == "\x00pages\x00":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts)


def plan_type_label(plan_type: str) -> str:
    labels = {
        "installment": _("Installment plan"),
        "relief": _("Interest relief plan"),
        "settlement": _("Settlement"),
        "personalised": _("Personalised installment plan"),
    }
    return labels.get(plan_type, plan_type)


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, float | bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _count(value: object) -> int | None:
    number = _decimal(value)
    return int(number) if number is not None and number == int(number) and number > 0 else None


def term_rows(terms: dict[str, Any], currency: str) -> list[tuple[str, str]]:
    """The plan's terms as (label, formatted value), in a fixed order; absent terms skipped."""
    rows: list[tuple[str, str]] = []
    pricing = terms.get("pricing")
    months = _count(terms.get("months"))
    if months:
        rows.append((_("Number of monthly installments"), str(months)))
    if pricing == "monthly_fee":
        rows.append((_("How the plan is priced"), _("A fixed monthly fee on the amount financed")))
    elif pricing == "annual_rate":
        rows.append((_("How the plan is priced"), _("Interest on the reducing balance")))
    rate = _decimal(terms.get("rate"))
    if rate is not None and pricing == "monthly_fee":
        rows.append((_("Monthly fee rate"), percent(rate)))
    elif rate is not None and pricing == "annual_rate":
        rows.append((_("Annual interest rate"), percent(rate)))
    down = _decimal(terms.get("down_payment"))
    if down:
        rows.append((_("Down payment, paid when you accept"), money(down, currency)))
    waiver = _decimal(terms.get("fee_waiver"))
    if waiver:
        rows.append((_("Share of fees and late fees waived"), percent(waiver, 0)))
    relief_months = _count(terms.get("relief_months"))
    if relief_months:
        rows.append((_("Months at the reduced rate"), str(relief_months)))
    relief_rate = _decimal(terms.get("relief_rate"))
    if relief_months and relief_rate is not None:
        rows.append((_("Annual interest rate during relief"), percent(relief_rate)))
    relief_payment = _decimal(terms.get("relief_payment"))
    if relief_payment:
        rows.append((_("Monthly payment during relief"), money(relief_payment, currency)))
    after = _count(terms.get("after_months"))
    if after:
        rows.append((_("Months after the relief period"), str(after)))
    normal_rate = _decimal(terms.get("normal_rate"))
    if relief_months and normal_rate is not None:
        rows.append((_("Annual interest rate after relief"), percent(normal_rate)))
    discount = _decimal(terms.get("discount"))
    if discount:
        rows.append((_("Discount on your balance"), percent(discount, 0)))
    payments = _count(terms.get("payments"))
    if payments:
        rows.append((_("Number of payments"), str(payments)))
    deadline = terms.get("deadline")
    if isinstance(deadline, str):
        with suppress(ValueError):
            rows.append((_("First payment due by"), local_date(date.fromisoformat(deadline))))
    return rows


def waived_rows(waived: dict[str, Any], currency: str) -> list[tuple[str, str]]:
    labels = {
        "interest": _("Interest not charged"),
        "fees": _("Fees"),
        "late_fees": _("Late fees"),
        "discount": _("Discount on the balance"),
    }
    rows = []
    for key, label in labels.items():
        amount = _decimal(waived.get(key))
        if amount:
            rows.append((label, money(amount, currency)))
    return rows


def schedule_lines(installments: list[Any], currency: str) -> ScheduleGrid:
    """The payment schedule as aligned lines, in the active locale.

    Amounts carry the currency sign when the schedule's face sets it at a known width
    (¥, HK$, CN¥, US$…); otherwise they are plain numbers and the heads name the
    currency by its code, so the columns still line up.
    """
    head = [_("Due date (installment no.)"), _("Principal"), _("Fee or interest"), _("Total due")]
    parts = ("principal", "charge", "total")
    amounts = [[getattr(row, name) for name in parts] for row in installments]
    amounts.append([sum((row[i] for row in amounts), Decimal(0)) for i in range(len(parts))])
    shown = [[money(amount, currency) for amount in row] for row in amounts]
    if not all(fixed_width(text) for row in shown for text in row):
        locale = get_locale()

        def number(amount: Decimal) -> str:
            return format_currency(amount, currency, format="#,##0.00", currency_digits=True, locale=locale)

        shown = [[number(amount) for amount in row] for row in amounts]
        head[1:] = [f"{label} ({currency})" for label in head[1:]]
    *rows, total = shown
    dates = [
        _("%(date)s (no. %(number)s)", date=local_date(row.due_date, "medium"), number=row.number)
        for row in installments
    ]
    return schedule_grid(
        head,
        [[when, *row] for when, row in zip(dates, rows, strict=True)],
        [_("Total"), *total],
    )


def document_context(plan: Plan, reference: str | None) -> dict[str, Any]:
    """Everything the agreement shows, read from the plan as accepted (or, for the
    preview before signing, as it would be accepted: then without a reference)."""
    account = db.session.get(CardAccount, plan.account_id)
    config = current_app.config
    currency = plan.currency
    # The structure frozen at acceptance; plans from before it was kept fall back to the account.
    frozen = plan.balance_parts or {}

    def part(name: str) -> Decimal:
        return Decimal(frozen[name]) if name in frozen else getattr(account, name)

    balance_parts = [
        (_("Spending and cash (principal)"), part("principal")),
        (_("Interest"), part("interest")),
        (_("Fees"), part("fees")),
        (_("Late fees"), part("late_fees")),
    ]
    public = (config.get("PUBLIC_URL") or "").rstrip("/")
    assert account is not None
    place = jurisdictions.get(account.jurisdiction)
    care_phone = place.care_phone
    return {
        "reference": reference,
        "plan": plan,
        "plan_label": plan_type_label(plan.plan_type),
        "account": account,
        "holder": account.cardholder,
        "signature": plan.signature,
        "installments": plan.installments,
        "schedule": schedule_lines(plan.installments, currency),
        "currency": currency,
        "bank_name": config["BANK_NAME"],
        "agreement_phone": care_phone,
        "regulator": jurisdictions.text(place.regulator),
        "complaint_services": [(jurisdictions.text(c.name), c.phone) for c in place.complaints],
        "debt_advice": [(jurisdictions.text(c.name), c.phone) for c in place.debt_advice],
        "balance_parts": balance_parts,
        "parts_add_up": sum((amount for _label, amount in balance_parts), Decimal(0)) == plan.balance_at_acceptance,
        "terms": term_rows(plan.terms or {}, currency),
        "waived": waived_rows(plan.waived or {}, currency),
        # The key terms the signing page showed, from the same function: payments, term list.
        "key": key_terms(plan, care_phone),
        "new_card_source": _("Legal basis: %(basis)s.", basis=jurisdictions.text(place.plan_basis)),
        "verify_url": (public + "/verify") if public else "/verify",
        "page_counter": page_counter_content(),
        "header_left": css_string(f"{config['BANK_NAME']} · {_('Repayment agreement')}"),
        "header_right": css_string(reference or ""),
        "down_payment": _decimal((plan.terms or {}).get("down_payment")),
        "currency_name": get_currency_name(currency, locale=get_locale()),
        "lang": plan.locale.replace("_", "-"),
    }


def render_html(agreement: Agreement) -> str:
    """The agreement as HTML in the plan's language."""
    locale = agreement.plan.locale if agreement.plan.locale in LOCALES else "en"
    account = db.session.get(CardAccount, agreement.plan.account_id)
    assert account is not None
    with force_locale(locale), jurisdictions.serving(account.jurisdiction):
        return render_template("agreements/document.html", **document_context(agreement.plan, agreement.reference))


def html_to_pdf(html: str, title: str) -> bytes:
    """Lay ``html`` out as an A4 PDF with the agreement stylesheet, fonts embedded and subset."""
    renderer = _renderer()
    # One layout at a time per process: the font configuration is shared. The cyclic
    # garbage collector is paused meanwhile: a layout makes ~10⁶ short-lived objects
    # and collections during it cost a third of its time; it runs again afterwards.
    with _render_lock:
        collecting = gc.isenabled()
        gc.disable()
        try:
            document = renderer.html(string=html, base_url=STATIC_SCHEME, url_fetcher=renderer.fetcher)
            return document.write_pdf(
                stylesheets=renderer.stylesheets,
                font_config=renderer.font_config,
                pdf_identifier=title.encode(),
                custom_metadata=False,
                pdf_variant="pdf/ua-1",
                finisher=_serialise_once,
            )
        finally:
            if collecting:
                gc.enable()


def render_pdf(agreement: Agreement) -> bytes:
    """The unsigned agreement PDF."""
    return html_to_pdf(render_html(agreement), agreement.reference)
