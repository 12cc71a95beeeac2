"""The passages of our guides, indexed for BM25 (bm25s), built from the content files.

A passage is one block of a guide as its reader sees it: a paragraph, or a bulleted list
with the sentence that leads into it, under its section heading. Each passage is indexed
with its guide's title and its section's heading, so "interest" finds the paragraphs of
the guide called "Interest and fees" even where they only say "it". The standard terms
of a plan agreement are passages too, of the guides they belong to
(:mod:`portal.answers.agreement_terms`). A guide's summary is
a passage too, and the everyday words content editors list for a guide
(``synonyms.toml``, ``[topics]``) form one more, which is searched but never quoted.

There are two indexes: English, and Chinese, where Simplified and Traditional passages
are folded to one script (``portal.answers.text``) and kept apart only by their
``locale``: a question is scored against both scripts' passages and answered from the
reader's. The index is built on first use in a process (gunicorn warms it after fork)
and again when a content file changes (its modification time), looked at no more than
once every :data:`RECHECK_SECONDS`; a file that no longer reads (a typo in a word list)
is logged and the previous index stays in use.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

from portal.answers.agreement_terms import standard_terms
from portal.answers.rules import merge_rules
from portal.answers.text import tokens
from portal.answers.vocabulary import (
    ANSWERS_ROOT,
    Synonyms,
    Term,
    VocabularyError,
    load_escalation,
    load_synonyms,
)
from portal.education.content import CONTENT_ROOT, LOCALES, ContentError, Library, join_lines, load_library

log = logging.getLogger(__name__)

RECHECK_SECONDS = 2.0
GROUP = {"en": "en", "zh_Hans": "zh", "zh_Hant": "zh"}
_INSERT = re.compile(r"^\[\[[a-z\-]+\]\]$")


@dataclass(frozen=True)
class Passage:
    slug: str
    locale: str
    heading: str
    text: str  # as written in the content file (inline Markdown); "" for a keyword passage
    quotable: bool = True
    summary: bool = False  # the guide's one-line summary, quoted only when no paragraph matches as well


def blocks(body: str) -> list[tuple[str, str]]:
    """(section heading, block) for each paragraph or list of a guide's Markdown body; a
    paragraph that ends with a colon keeps the list that follows it."""
    found: list[tuple[str, str]] = []
    heading = ""
    current: list[str] = []

    def flush() -> None:
        if current:
            found.append((heading, "\n".join(current)))
            current.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if _INSERT.match(line):
            current.append(line)  # the services or number the paragraph before leads to
            flush()
            continue
        if not line:
            if current and not current[-1].endswith((":", "：")):
                flush()
            continue
        if line.startswith("## "):
            flush()
            heading = line[3:].strip()
            continue
        if current and not line.startswith("- ") and current[-1].startswith("- ") and not raw.startswith((" ", "\t")):
            flush()
        if current and raw.startswith((" ", "\t")) and current[-1].startswith("- "):
            current[-1] = join_lines([current[-1], line])
        elif current and not line.startswith("- ") and not current[-1].startswith(("- ", "[[")):
            current[-1] = join_lines([current[-1], line])  # a paragraph wrapped over lines
        else:
            current.append(line)
    flush()
    return found


_MARKS = re.compile(r"\*\*(.+?)\*\*|\[([^\]\n]+)\]\([^)\s]*\)")


def plain(block: str) -> str:
    """A passage as plain text: its words as written, without Markdown marks or inserts."""
    lines = [line for line in block.splitlines() if not _INSERT.match(line)]
    return "\n".join(_MARKS.sub(lambda m: m.group(1) or m.group(2), line) for line in lines)


@dataclass
class GroupIndex:
    passages: list[Passage]
    retriever: bm25s.BM25
    vocabulary: dict[str, int]
    synonyms: tuple[tuple[Term, ...], ...]
    outside: tuple[Term, ...] = ()
    by_initial: dict[str, list[str]] = field(default_factory=dict)  # Latin words, for spelling

    def __post_init__(self) -> None:
        for word in self.vocabulary:
            if len(word) >= 4 and word.isascii() and word.isalpha():
                self.by_initial.setdefault(word[0], []).append(word)

    def spelling(self, term: str) -> str:
        """A Latin word the guides never use, put right when one word is very like it
        ("settlment" → "settlement"); any other term as it is."""
        if term in self.vocabulary or len(term) < 5 or not (term.isascii() and term.isalpha()):
            return term
        close = difflib.get_close_matches(term, self.by_initial.get(term[0], ()), n=1, cutoff=0.85)
        return close[0] if close else term


@dataclass
class Index:
    library: Library
    groups: dict[str, GroupIndex]
    escalation: dict[str, tuple[Term, ...]]
    built_in: float = 0.0
    titles: dict[tuple[str, str], str] = field(default_factory=dict)


def _passages(library: Library, folder: Path, locale: str, synonyms: Synonyms) -> list[tuple[Passage, list[str]]]:
    found: list[tuple[Passage, list[str]]] = []
    heading, terms = standard_terms(locale)
    agreement: dict[str, list[tuple[str, str]]] = {}
    for slug, term in terms:
        agreement.setdefault(slug, []).append((heading, term))
    for topic in library.topics(locale):
        source = (folder / f"{topic.slug}.md").read_text(encoding="utf-8")
        body = source.split("\n---", 1)[1]  # after the front matter (checked by load_library)
        title = tokens(topic.title)
        found.append((Passage(topic.slug, locale, "", topic.summary, summary=True), title + tokens(topic.summary)))
        for heading, block in blocks(body):
            words = tokens(heading) + tokens(plain(block))
            found.append((Passage(topic.slug, locale, heading, block), title + words))
        for heading, term in agreement.get(topic.slug, ()):
            found.append((Passage(topic.slug, locale, heading, term), title + tokens(heading) + tokens(term)))
        everyday = synonyms.topics.get(topic.slug, ())
        if everyday:
            words = [t for word in everyday for t in tokens(word)]
            found.append((Passage(topic.slug, locale, "", "", quotable=False), title + words))
    return found


def build(content_root: Path = CONTENT_ROOT, answers_root: Path = ANSWERS_ROOT) -> Index:
    """Read every guide and word list and index them."""
    started = time.perf_counter()
    library = load_library(content_root)
    synonyms = {locale: load_synonyms(answers_root / locale / "synonyms.toml") for locale in LOCALES}
    escalation = merge_rules(*(load_escalation(answers_root / locale / "escalation.toml") for locale in LOCALES))
    groups: dict[str, GroupIndex] = {}
    for group in sorted(set(GROUP.values())):
        locales = [locale for locale in LOCALES if GROUP[locale] == group]
        rows = [
            row for locale in locales for row in _passages(library, content_root / locale, locale, synonyms[locale])
        ]
        retriever = bm25s.BM25()
        retriever.index([row[1] or [""] for row in rows], show_progress=False)
        groups[group] = GroupIndex(
            passages=[row[0] for row in rows],
            retriever=retriever,
            vocabulary=dict(retriever.vocab_dict),
            synonyms=tuple(g for locale in locales for g in synonyms[locale].groups),
            outside=tuple(t for locale in locales for t in synonyms[locale].outside),
        )
    titles = {(t.locale, t.slug): t.title for locale in LOCALES for t in library.topics(locale)}
    return Index(library, groups, escalation, time.perf_counter() - started, titles)


def scores(group: GroupIndex, query: list[str]) -> np.ndarray:
    """The BM25 score of every passage of ``group`` for the query's terms."""
    known = [t for t in dict.fromkeys(query) if t in group.vocabulary]
    if not known:
        return np.zeros(len(group.passages), dtype=np.float32)
    return group.retriever.get_scores(known)


# --- the index this process uses ---------------------------------------------------


def _signature(content_root: Path, answers_root: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted([*content_root.glob("*/*.md"), *answers_root.glob("*/*.toml")])
    return tuple((str(p), (s := p.stat()).st_mtime_ns, s.st_size) for p in files)


class _Current:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: Index | None = None
        self.signature: tuple[tuple[str, int, int], ...] = ()
        self.checked = 0.0
        self.roots: tuple[Path, Path] | None = None


_current = _Current()


def current_index(content_root: Path = CONTENT_ROOT, answers_root: Path = ANSWERS_ROOT) -> Index:
    """The index of the files as they are now: built on first use, rebuilt after a change."""
    now = time.monotonic()
    roots = (content_root, answers_root)
    if _current.index is not None and _current.roots == roots and now - _current.checked < RECHECK_SECONDS:
        return _current.index
    with _current.lock:
        signature = _signature(content_root, answers_root)
        _current.roots = roots
        if _current.index is None or signature != _current.signature:
            try:
                _current.index = build(content_root, answers_root)
            except (ContentError, VocabularyError):
                if _current.index is None:
                    raise
                # An editor's slip in a file: keep answering from the files as they were.
                log.exception("the answers index was not rebuilt; the previous one stays in use")
            _current.signature = signature
        _current.checked = time.monotonic()
        return _current.index
