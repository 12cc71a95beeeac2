"""Help topics through the real pages, signed in or not, in every language."""

from __future__ import annotations

import re

import pytest
import textstat
from markupsafe import escape

from portal.education.content import LOCALES, SLUGS, load_library
from tests.unit.test_education_content import FK_GRADE_LIMIT, visible_text

TOPICS = load_library()


def main_html(html: str) -> str:
    found = re.search(r"<main\b.*?</main>", html, re.S)
    assert found, "no <main> on the page"
    return found.group(0)


def get_in(client, locale: str, path: str):
    """Switch language the way a person does, with the header's switcher link."""
    response = client.get(f"/language/{locale}?next={path}")
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    return client.get(path)


@pytest.mark.parametrize("locale", LOCALES)
def test_topic_list_in_each_language(client, locale):
    response = get_in(client, locale, "/learn")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{locale.replace("_", "-")}">' in html
    for topic in TOPICS.topics(locale):
        assert str(escape(topic.title)) in html and str(escape(topic.summary)) in html
        assert f'href="/learn/{topic.slug}"' in html
    # The list is in the topics' order.
    positions = [html.index(f'href="/learn/{slug}"') for slug in SLUGS]
    assert positions == sorted(positions)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("slug", SLUGS)
def test_each_topic_in_each_language(client, locale, slug):
    response = get_in(client, locale, f"/learn/{slug}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    topic = TOPICS.get(locale, slug)
    assert f'<html lang="{locale.replace("_", "-")}">' in html
    assert f"<title>{escape(topic.title)} · " in html
    assert f"<h1>{escape(topic.title)}</h1>" in html
    # The text around each [[insert]] and [[currency]] is on the page, and every one was filled in.
    for part in re.split(r"<!--insert:[a-z-]+-->|\[\[currency\]\]", str(topic.html)):
        assert part in html
    assert "<!--insert:" not in html and "[[currency]]" not in html
    for related in topic.related:
        assert f'href="/learn/{related}"' in html
    assert 'href="/learn"' in main_html(html)  # back to all topics
    assert 'href="/sign-in"' in main_html(html)  # the next step for someone not signed in


def test_pages_make_no_outside_requests_and_need_no_script(client):
    for path in ["/learn", *(f"/learn/{slug}" for slug in SLUGS)]:
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), path


@pytest.mark.parametrize("slug", SLUGS)
def test_english_topic_pages_read_at_grade_8_or_below(client, slug):
    html = get_in(client, "en", f"/learn/{slug}").get_data(as_text=True)
    text = visible_text(main_html(html))
    grade = textstat.flesch_kincaid_grade(text)
    assert grade <= FK_GRADE_LIMIT, f"/learn/{slug}: Flesch-Kincaid grade {grade:.1f}"


@pytest.mark.parametrize("locale", LOCALES)
def test_unknown_topic_is_a_translated_404(client, locale):
    response = get_in(client, locale, "/learn/no-such-topic")
    assert response.status_code == 404
    assert f'<html lang="{locale.replace("_", "-")}">' in response.get_data(as_text=True)
    assert client.get("/learn/..%2Fsign-in").status_code == 404


def test_topics_need_no_sign_in(client):
    for path in ["/learn", "/learn/scams"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Location" not in response.headers


def test_help_link_is_in_the_layout_of_the_sign_in_page(client):
    html = get_in(client, "zh_Hant", "/sign-in").get_data(as_text=True)
    header = re.search(r"<header\b.*?</header>", html, re.S).group(0)
    assert re.search(r'<a class="header-help" href="/learn">幫助</a>', header)
    # The language switcher is still there, with all three languages.
    assert header.count("/language/") == len(LOCALES)


def test_help_link_is_marked_current_on_help_pages(client):
    html = client.get("/learn/overdue").get_data(as_text=True)
    assert 'href="/learn" aria-current="page"' in html
    assert 'aria-current="page"' not in client.get("/sign-in").get_data(as_text=True)


def test_signed_in_cardholder_is_sent_back_to_their_account(app, client, auth):
    from tests.conftest import make_account

    make_account(app)
    auth.sign_in()
    html = get_in(client, "en", "/learn/plan-types").get_data(as_text=True)
    assert 'href="/account"' in main_html(html) and "Go to your account" in html
    assert 'href="/sign-in"' not in main_html(html)


def test_the_kept_guide_list_still_tells_a_visitor_and_a_cardholder_apart(app, client, auth):
    """The guide list is rendered once per language and sign-in state: a visitor's copy
    must never send a cardholder to sign in, nor a cardholder's send a visitor onward."""
    from tests.conftest import make_account

    visitor = app.test_client()
    assert "Go to your account" not in visitor.get("/learn").get_data(as_text=True)
    make_account(app)
    auth.sign_in()
    html = client.get("/learn").get_data(as_text=True)
    assert "Go to your account" in html and 'href="/sign-in"' not in main_html(html)
    again = visitor.get("/learn").get_data(as_text=True)
    assert "Go to your account" not in again and 'href="/sign-in"' in main_html(again)


def test_html_in_a_content_file_is_shown_as_text_on_the_page(client, tmp_path, monkeypatch):
    import portal.education.views as views
    from portal.education.content import load_library as load

    for locale in LOCALES:
        folder = tmp_path / locale
        folder.mkdir()
        (folder / "overdue.md").write_text(
            "---\ntitle: Late <script>alert(1)</script>\nsummary: <b>s</b>\norder: 1\n---\n"
            "Text <script>alert(2)</script> and [bad](javascript:steal) and [ok](/learn).\n",
            encoding="utf-8",
        )
    monkeypatch.setattr(views, "library", lambda: load(tmp_path))
    html = client.get("/learn/overdue").get_data(as_text=True)
    assert "<script" not in html and "javascript:" not in html and "<b>s</b>" not in html
    assert "<h1>Late &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in html
    assert "Text &lt;script&gt;alert(2)&lt;/script&gt; and bad and" in html
    assert "&lt;b&gt;s&lt;/b&gt;" in client.get("/learn").get_data(as_text=True)
