"""Help topics: the Markdown subset, safe rendering, completeness and plain language."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import textstat

from portal.education import suggested_topic
from portal.education.content import (
    LOCALES,
    SLUGS,
    ContentError,
    is_safe_href,
    library,
    load_library,
    parse_topic,
    render_inline,
    render_markdown,
)

FK_GRADE_LIMIT = 8
CHINESE_SENTENCE_LIMIT = 60
BLOCKS = {"h1", "h2", "h3", "p", "li", "dt", "dd", "td", "th", "button", "title"}


class _VisibleText(HTMLParser):
    """Text a reader sees, one line per block element; nothing from script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.current: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in BLOCKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1
        elif tag in BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current.append(data)

    def flush(self) -> None:
        line = " ".join("".join(self.current).split())
        if line:
            self.lines.append(line)
        self.current = []


def visible_lines(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    parser.flush()
    return parser.lines


def visible_text(html: str) -> str:
    return "\n".join(visible_lines(html))


def topic_page_html(topic) -> str:
    return f"<h1>{topic.title}</h1><p>{topic.summary}</p>{topic.html}"


# --- the Markdown subset -------------------------------------------------------------


def test_headings_paragraphs_lists_bold_and_links():
    html = render_markdown(
        "Intro line one\nline two.\n\n## Next\n\n- first **bold**\n- second with [a link](/learn/plan-types)\n"
        "  continued\n\nAfter."
    )
    assert html == (
        "<p>Intro line one line two.</p>\n<h2>Next</h2>\n"
        '<ul><li>first <strong>bold</strong></li><li>second with <a href="/learn/plan-types">a link</a> continued'
        "</li></ul>\n<p>After.</p>"
    )


def test_chinese_lines_join_without_spaces():
    assert render_markdown("第一行\n第二行。") == "<p>第一行第二行。</p>"


def test_raw_html_in_content_is_shown_as_text():
    html = render_markdown('Hello <script>alert("x")</script> & <b onclick="y">bye</b>\n\n## <img src=x onerror=y>')
    assert "<script>" not in html and "<b " not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&amp;" in html
    assert "&lt;img src=x onerror=y&gt;" in html


def test_script_in_front_matter_is_escaped_when_rendered():
    topic = parse_topic("---\ntitle: <script>x</script>\nsummary: s\norder: 1\n---\nBody", slug="t", locale="en")
    from markupsafe import escape

    assert str(escape(topic.title)) == "&lt;script&gt;x&lt;/script&gt;"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "https://evil.example/learn",
        "http://evil.example",
        "//evil.example/learn",
        "/\\evil.example",
        "data:text/html,hi",
        "mailto:someone@example.com",
        "learn/plan-types",
        '/learn/a"onmouseover="alert(1)',
        "",
    ],
)
def test_unsafe_links_keep_only_their_text(href):
    html = render_inline(f"Go [there]({href}) now")
    assert "<a" not in html and "href" not in html
    assert "there" in html and "javascript" not in html.lower()


def test_internal_links_are_kept_and_escaped():
    assert is_safe_href("/learn/plan-types") and is_safe_href("/learn") and is_safe_href("/account")
    assert render_inline("[<b>x</b>](/learn)") == '<a href="/learn">&lt;b&gt;x&lt;/b&gt;</a>'


def test_bold_cannot_nest_and_stray_markers_stay_text():
    assert render_inline("**a [b](/learn) c**") == '<strong>a <a href="/learn">b</a> c</strong>'
    assert render_inline("2 ** 3 and *one*") == "2 ** 3 and *one*"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "must start"),
        ("---\ntitle: t\nsummary: s\norder: 1\n", "no closing"),
        ("---\ntitle: t\norder: 1\n---\nbody", "summary"),
        ("---\ntitle: t\nsummary: s\norder: first\n---\nbody", "whole number"),
        ("---\ntitle t\n---\nbody", "key: value"),
    ],
)
def test_incomplete_front_matter_is_refused(text, problem):
    with pytest.raises(ContentError, match=problem):
        parse_topic(text, slug="x", locale="en")


def test_library_is_parsed_once_and_cached():
    assert library() is library()


# --- the content files ------------------------------------------------------------


def test_every_topic_exists_in_every_locale_with_complete_front_matter():
    content = load_library()
    for locale in LOCALES:
        topics = content.by_locale[locale]
        assert set(topics) == set(SLUGS), f"{locale}: {sorted(set(SLUGS) ^ set(topics))}"
        for topic in topics.values():
            assert topic.title.strip() and topic.summary.strip() and topic.order > 0
            assert "<h2>" in topic.html and "<p>" in topic.html
    orders = {locale: [t.slug for t in content.topics(locale)] for locale in LOCALES}
    assert orders["en"] == orders["zh_Hans"] == orders["zh_Hant"] == list(SLUGS)
    assert len({t.order for t in content.topics("en")}) == len(SLUGS)


def test_related_topics_and_links_point_to_real_topics():
    content = load_library()
    for locale in LOCALES:
        for topic in content.topics(locale):
            assert topic.related, f"{locale}/{topic.slug} names no related topics"
            assert set(topic.related) <= set(SLUGS) - {topic.slug}
            assert topic.related == content.get("en", topic.slug).related
            for href in topic.links:
                assert re.fullmatch(r"/learn/[a-z\-]+", href), f"{locale}/{topic.slug}: link {href!r}"
                assert href.removeprefix("/learn/") in SLUGS, f"{locale}/{topic.slug}: no topic {href!r}"


def test_every_topic_is_reached_from_another_topic():
    """A guide nobody links to is found only from the list; each one is a related topic
    or a link in at least one other guide, in every language."""
    content = load_library()
    for locale in LOCALES:
        reached = {
            target
            for topic in content.topics(locale)
            for target in (*topic.related, *(href.removeprefix("/learn/") for href in topic.links))
            if target != topic.slug
        }
        assert set(SLUGS) <= reached, f"{locale}: no guide leads to {sorted(set(SLUGS) - reached)}"


def test_the_rate_topic_carries_the_worked_example():
    for locale in LOCALES:
        text = visible_text(str(load_library().get(locale, "annualised-rate").html))
        for figure in ("10,000", "720", "13.03", "13.84", "7.2"):
            assert figure in text, f"{locale}: {figure} missing"


@pytest.mark.parametrize("slug", SLUGS)
def test_english_topics_read_at_grade_8_or_below(slug):
    topic = load_library().get("en", slug)
    text = visible_text(topic_page_html(topic))
    grade = textstat.flesch_kincaid_grade(text)
    assert grade <= FK_GRADE_LIMIT, f"{slug}: Flesch-Kincaid grade {grade:.1f}; use shorter words and sentences"


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_chinese_sentences_are_short(locale):
    too_long = []
    for topic in load_library().topics(locale):
        for line in visible_lines(topic_page_html(topic)):
            for sentence in re.split(r"[。！？]", line):
                if len(sentence.strip()) > CHINESE_SENTENCE_LIMIT:
                    too_long.append(f"{topic.slug}: {sentence}")
    assert not too_long, "\n".join(too_long)


# Characters that exist in only one of the two scripts: a Simplified one in a
# Traditional text (or the other way round) is a copy-paste slip.
SIMPLIFIED_ONLY = "们这还钱说会为对账来时发经没门问题费计划实际银"
TRADITIONAL_ONLY = "們這還錢說會為對帳來時發經沒門問題費計劃實際銀"


@pytest.mark.parametrize(
    ("locale", "foreign"), [("zh_Hans", TRADITIONAL_ONLY), ("zh_Hant", SIMPLIFIED_ONLY)], ids=["zh_Hans", "zh_Hant"]
)
def test_chinese_topics_use_one_script(locale, foreign):
    for topic in load_library().topics(locale):
        text = topic.title + topic.summary + visible_text(str(topic.html))
        stray = {c for c in text if c in foreign}
        assert not stray, f"{locale}/{topic.slug}: {''.join(sorted(stray))}"


# --- the journey's hook ------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "slug"),
    [
        ("lost_job", "cannot-pay"),
        ("illness", "cannot-pay"),
        ("income_fell", "cannot-pay"),
        ("overspent", "choosing-a-plan"),
        ("unsure_rules", "interest-and-fees"),
        ("other", "plan-types"),
        (None, "plan-types"),
        ("", "plan-types"),
        ("something-new", "plan-types"),
    ],
)
def test_suggested_topic(reason, slug):
    assert suggested_topic(reason) == slug
    assert slug in SLUGS
