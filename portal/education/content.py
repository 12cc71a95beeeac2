"""Help topics: one Markdown file per topic and locale, parsed once and cached.

A translator edits ``content/education/<locale>/<slug>.md``. Each file starts with a tiny
front matter block::

    ---
    title: What an annualised rate is
    summary: Why 0.6 % a month costs about 13 % a year.
    order: 4
    related: plan-types, choosing-a-plan
    ---

and then uses a deliberately small Markdown subset: ``## headings``, paragraphs, ``-``
bullet lists, ``**bold**`` and ``[links](/learn/plan-types)`` to internal paths only, and
a line ``[[debt-advice]]``, ``[[care-phone]]``, ``[[complaints]]`` or ``[[web-address]]``
alone, where the page inserts the debt-advice services, the care number, the independent
complaint services and the bank's web address of the reader's jurisdiction (from
configuration, so that content files never hard-code a phone number); ``[[currency]]``
inside a line becomes the reader's currency ("港元", "yuan"). Nothing else is special. Every
piece of text is escaped with markupsafe, so raw HTML in a content file is shown as
text, never run. No Flask here: the parser is testable alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

CONTENT_ROOT = Path(__file__).resolve().parent.parent.parent / "content" / "education"
LOCALES = ("en", "zh_Hans", "zh_Hant")
SLUGS = (
    "overdue",
    "interest-and-fees",
    "plan-types",
    "annualised-rate",
    "choosing-a-plan",
    "cannot-pay",
    "your-rights",
    "scams",
    "how-to-pay",
    "promise-to-pay",
    "missed-plan-payment",
    "change-due-date",
    "settlement",
    "credit-record",
    "your-agreement",
    "identity-and-privacy",
    "contact-us",
)
REQUIRED_FIELDS = ("title", "summary", "order")
INSERTS = ("debt-advice", "web-address", "care-phone", "complaints")
CURRENCY_PLACEHOLDER = "[[currency]]"
_INSERT_LINE = re.compile(r"^\[\[(?P<name>[a-z\-]+)\]\]$")

# Same-site paths only: one leading slash, no scheme, no "//" host, no backslash tricks.
_SAFE_PATH = re.compile(r"^/(?:[a-z0-9][a-z0-9\-]*(?:/[a-z0-9][a-z0-9\-]*)*)?(?:#[a-z0-9\-]+)?$")
_INLINE = re.compile(r"\*\*(?P<bold>.+?)\*\*|\[(?P<label>[^\]\n]+)\]\((?P<href>[^)\s]*)\)")
_CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")

# Which topic helps most for each reason a cardholder gives for falling behind.
_TOPIC_FOR_REASON = {
    "lost_job": "cannot-pay",
    "illness": "cannot-pay",
    "income_fell": "cannot-pay",
    "overspent": "choosing-a-plan",
    "unsure_rules": "interest-and-fees",
}
DEFAULT_TOPIC = "plan-types"


class ContentError(ValueError):
    """A content file is missing, incomplete or uses something the subset does not allow."""


@dataclass(frozen=True)
class Topic:
    slug: str
    locale: str
    title: str
    summary: str
    order: int
    html: Markup
    related: tuple[str, ...] = ()
    links: tuple[str, ...] = field(default=(), repr=False)


def suggested_topic(reason: str | None) -> str:
    """The slug of the topic to offer a cardholder who gave ``reason`` for falling behind.

    Hardship (lost job, illness, income fell) → what to do if you cannot pay; overspending →
    how to choose a plan you can keep; unsure of the rules → interest and fees; anything
    else, or no reason → the kinds of plan.
    """
    return _TOPIC_FOR_REASON.get(reason or "", DEFAULT_TOPIC)


def is_safe_href(href: str) -> bool:
    """True for a same-site path such as ``/learn/plan-types``; False for anything else."""
    return bool(_SAFE_PATH.match(href))


def render_inline(text: str, *, allow_bold: bool = True) -> Markup:
    """Escape ``text`` and turn ``**bold**`` and safe ``[label](/path)`` links into HTML.

    A link to anything but a same-site path (``javascript:``, ``https://…``, ``//host``)
    keeps only its label, as plain text.
    """
    parts: list[Markup] = []
    position = 0
    for match in _INLINE.finditer(text):
        parts.append(escape(text[position : match.start()]))
        if match.group("bold") is not None:
            if allow_bold:
                parts.append(Markup("<strong>%s</strong>") % render_inline(match.group("bold"), allow_bold=False))
            else:
                parts.append(escape(match.group(0)))
        else:
            label = render_inline(match.group("label"), allow_bold=False)
            href = match.group("href")
            parts.append(Markup('<a href="%s">%s</a>') % (href, label) if is_safe_href(href) else label)
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines of one paragraph: a space between words, none between CJK characters."""
    text = ""
    for line in (line.strip() for line in lines):
        if text and not (_CJK.match(text[-1]) or _CJK.match(line[0])):
            text += " "
        text += line
    return text


def insert_marker(name: str) -> Markup:
    """Where ``[[name]]`` stood; text from a file is escaped, so it can never forge one."""
    return Markup("<!--insert:%s-->") % name


def render_markdown(source: str) -> Markup:
    """Render the content subset to safe HTML (``<h2>``, ``<p>``, ``<ul><li>``, inserts)."""
    blocks: list[Markup] = []
    paragraph: list[str] = []
    items: list[list[str]] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Markup("<p>%s</p>") % render_inline(join_lines(paragraph)))
            paragraph.clear()
        if items:
            lis = Markup("").join(Markup("<li>%s</li>") % render_inline(join_lines(item)) for item in items)
            blocks.append(Markup("<ul>%s</ul>") % lis)
            items.clear()

    for raw in source.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
        elif insert := _INSERT_LINE.match(stripped):
            flush()
            if insert.group("name") not in INSERTS:
                raise ContentError(f"unknown insert {stripped!r}; known: {', '.join(INSERTS)}")
            blocks.append(insert_marker(insert.group("name")))
        elif stripped.startswith("## "):
            flush()
            blocks.append(Markup("<h2>%s</h2>") % render_inline(stripped[3:].strip()))
        elif stripped.startswith("- "):
            if paragraph:
                flush()
            items.append([stripped[2:]])
        elif items and line.startswith((" ", "\t")):
            items[-1].append(stripped)  # an indented line continues the bullet above
        else:
            if items:
                flush()
            paragraph.append(stripped)
    flush()
    return Markup("\n").join(blocks)


def internal_links(source: str) -> tuple[str, ...]:
    """Every link target written in ``source``, safe or not (for checking content)."""
    return tuple(match.group("href") for match in _INLINE.finditer(source) if match.group("href") is not None)


def parse_topic(text: str, *, slug: str, locale: str) -> Topic:
    """Parse one content file: front matter, then the Markdown subset."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ContentError(f"{locale}/{slug}: the file must start with a '---' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ContentError(f"{locale}/{slug}: the front matter has no closing '---' line") from None
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ContentError(f"{locale}/{slug}: front matter line without 'key: value': {line!r}")
        meta[key.strip().lower()] = value.strip()
    missing = [name for name in REQUIRED_FIELDS if not meta.get(name)]
    if missing:
        raise ContentError(f"{locale}/{slug}: front matter lacks {', '.join(missing)}")
    try:
        order = int(meta["order"])
    except ValueError:
        raise ContentError(f"{locale}/{slug}: order must be a whole number") from None
    body = "\n".join(lines[end + 1 :])
    try:
        html = render_markdown(body)
    except ContentError as problem:
        raise ContentError(f"{locale}/{slug}: {problem}") from None
    related = tuple(s.strip() for s in meta.get("related", "").split(",") if s.strip())
    return Topic(
        slug=slug,
        locale=locale,
        title=meta["title"],
        summary=meta["summary"],
        order=order,
        html=html,
        related=related,
        links=internal_links(body),
    )


@dataclass(frozen=True)
class Library:
    """All topics of all locales, each locale's list sorted by ``order``."""

    by_locale: dict[str, dict[str, Topic]]

    def topics(self, locale: str) -> list[Topic]:
        return sorted(self.by_locale.get(locale, {}).values(), key=lambda t: (t.order, t.slug))

    def get(self, locale: str, slug: str) -> Topic | None:
        return self.by_locale.get(locale, {}).get(slug)

    def related(self, topic: Topic) -> list[Topic]:
        """The topic's ``related`` list, or else the next topic in order."""
        found = [t for slug in topic.related if (t := self.get(topic.locale, slug)) and t.slug != topic.slug]
        if found:
            return found
        ordered = self.topics(topic.locale)
        index = ordered.index(topic)
        return ordered[index + 1 : index + 2] or ordered[:1]


def load_library(root: Path = CONTENT_ROOT) -> Library:
    """Read and parse every ``<locale>/<slug>.md`` under ``root`` (no caching)."""
    by_locale: dict[str, dict[str, Topic]] = {}
    for locale in LOCALES:
        folder = root / locale
        topics: dict[str, Topic] = {}
        for path in sorted(folder.glob("*.md")):
            topics[path.stem] = parse_topic(path.read_text(encoding="utf-8"), slug=path.stem, locale=locale)
        by_locale[locale] = topics
    return Library(by_locale)


@cache
def library(root: Path = CONTENT_ROOT) -> Library:
    """The parsed topics, read on first use and kept for the life of the process."""
    return load_library(root)
