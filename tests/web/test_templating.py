"""The shared layouts rendered cheaply, and still right: fragments cached per key, the
language switcher built once per request, template translations kept per request and
constant ones folded into each language's compiled templates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import render_template_string, url_for
from flask_babel import force_locale

from portal.extensions import db
from portal.i18n import LOCALES, _translations
from portal.templating import FragmentCache, fold_translations, language_links
from tests.conftest import csrf_token, make_app


def fragments(app) -> dict:
    return next(e for e in app.jinja_env.extensions.values() if isinstance(e, FragmentCache)).fragments


def test_a_cached_fragment_is_rendered_once_per_key(app):
    template = app.jinja_env.from_string('{% cache "t", key %}{{ count() }}{% endcache %}')
    calls = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    with app.test_request_context("/"):
        shown = [template.render(key=key, count=count) for key in ("a", "a", "b", "a")]
    assert shown == ["1", "1", "2", "1"] and len(calls) == 2


@pytest.mark.parametrize("key", ["none", "undefined"])
def test_a_fragment_whose_key_is_missing_is_rendered_every_time_and_kept_nowhere(app, key):
    source = '{% cache "never", ' + ("None" if key == "none" else "missing") + " %}{{ count() }}{% endcache %}"
    template = app.jinja_env.from_string(source)
    calls = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    with app.test_request_context("/"):
        assert [template.render(count=count) for _ in range(3)] == ["1", "2", "3"]
    assert not [k for k in fragments(app) if k[0] == "never"]


def test_a_cached_fragment_stays_escaped_markup(app):
    template = app.jinja_env.from_string('{% cache "t", 1 %}<b>{{ text }}</b>{% endcache %}')
    with app.test_request_context("/"):
        assert [template.render(text="<i>") for _ in range(2)] == ["<b>&lt;i&gt;</b>"] * 2


@pytest.mark.parametrize(
    "path", ["/learn", "/learn/annualised-rate?x=1&y=a b", "/care/?q=王 小明&tier=M1", "/sign-in?next=/l/x'y(z)"]
)
@pytest.mark.parametrize("root", ["", "/portal"])
def test_the_language_links_are_what_url_for_writes(app, path, root):
    with app.test_request_context(path, base_url=f"http://localhost{root}/"):
        links = language_links()
        expected = [
            url_for("auth.set_language", code=code, next=path_of_request()) for code in ("en", "zh_Hans", "zh_Hant")
        ]
    assert [link.href for link in links] == expected
    assert [link.lang for link in links] == ["en", "zh-Hans", "zh-Hant"]
    assert [link.current for link in links] == [True, False, False]


@pytest.mark.parametrize("root", ["", "/portal"])
def test_a_templates_links_are_what_flasks_url_for_writes_and_are_kept_per_key(app, root):
    from portal.templating import _kept_url
    from portal.templating import url_for as kept_url_for

    calls = [
        ("auth.home", {}),
        ("journey.offers", {"all": 1}),
        ("journey.offers", {"all": True}),  # equal to 1 as a key, written "True"
        ("journey.offer", {"fingerprint": "ab/c d"}),
        ("journey.done", {"plan_id": 7}),
        ("education.topic", {"slug": "cannot-pay", "x": ["a", "b"]}),  # a list: not a key, Flask's answer
        ("journey.offers", {"amount": Decimal("1.0")}),  # equal Decimals written differently: never kept
        ("journey.offers", {"amount": Decimal("1.00")}),
        ("journey.offers", {"_anchor": "top"}),
        ("journey.offers", {"_external": True}),
    ]
    _kept_url.cache_clear()
    for _ in range(2):  # built, then kept
        for path in ("/plan/offers", "/learn"):
            with app.test_request_context(path, base_url=f"http://localhost{root}/"):
                for endpoint, values in calls:
                    assert kept_url_for(endpoint, **values) == url_for(endpoint, **values)
    assert _kept_url.cache_info().hits > 0
    with app.test_request_context("/learn", base_url=f"http://localhost{root}/"):
        assert kept_url_for(".index") == url_for(".index") == f"{root}/learn"  # relative to the blueprint
    with app.test_request_context("/", base_url=f"https://other.example{root}/"):
        assert kept_url_for("auth.home", _external=True) == f"https://other.example{root}/"
        assert kept_url_for("auth.home") == f"{root}/"
    assert app.jinja_env.globals["url_for"] is kept_url_for


def test_the_language_switcher_is_rendered_once_per_language_and_address(app, client):
    from portal.templating import _kept_language_nav

    _kept_language_nav.cache_clear()
    pages = [client.get(path).get_data(as_text=True) for path in ("/learn", "/learn", "/learn?topic=1", "/learn")]
    assert (_kept_language_nav.cache_info().misses, _kept_language_nav.cache_info().hits) == (2, 2)
    assert pages[0] == pages[1] == pages[3] and "next=/learn?topic%3D1" in pages[2]
    client.get("/language/zh_Hant?next=/learn")
    assert 'lang="zh-Hant" aria-current="true"' in client.get("/learn").get_data(as_text=True)
    assert _kept_language_nav.cache_info().misses == 3


def test_template_globals_answer_with_a_set_of_names_and_follow_the_environment(app):
    with app.app_context():
        template = app.jinja_env.get_template("base.html")
        names = template.globals.keys()
        assert isinstance(names, set) and {"csrf_token", "language_links", "url_for"} <= names
        app.jinja_env.globals["added_later"] = "seen"
        try:
            names = template.globals.keys()  # the set Jinja compares, made afresh
            assert "added_later" in names and template.globals["added_later"] == "seen"
        finally:
            del app.jinja_env.globals["added_later"]


def test_a_templates_context_holds_what_jinjas_own_would_and_follows_the_environment(app):
    """portal.templating._Template hands a context its globals as one dict: the same names
    and values as Jinja's ChainMap gave, a template's own over the environment's, and a
    global added after the template was compiled is there on its next render."""
    from jinja2.runtime import new_context

    with app.app_context():
        template = app.jinja_env.from_string("{{ added_later }}", globals={"own": 1, "url_for": "mine"})
        ours = template.new_context({"view": 2}).get_all()
        jinjas = new_context(app.jinja_env, None, {}, {"view": 2}, False, template.globals, None).get_all()
        assert ours == jinjas and ours["url_for"] == "mine" and ours["own"] == 1 and ours["view"] == 2
        app.jinja_env.globals["added_later"] = "seen"
        try:
            assert template.render() == "seen"
        finally:
            del app.jinja_env.globals["added_later"]


def path_of_request() -> str:
    from flask import request

    return request.full_path.rstrip("?")


def test_template_translations_follow_a_forced_locale_within_a_request(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert render_template_string('{{ _("Help") }}') == "帮助"
        with force_locale("zh_Hant"):
            assert render_template_string('{{ _("Help") }}') == "幫助"
        with force_locale("en"):
            assert render_template_string('{{ _("Help") }}') == "Help"
        assert render_template_string('{{ _("Help") }}') == "帮助"


def test_python_gettext_writes_what_flask_babels_does_and_follows_a_forced_locale(app):
    import flask_babel

    from portal import i18n

    def both(name: str, *args, **variables) -> tuple[str, str]:
        return getattr(i18n, name)(*args, **variables), getattr(flask_babel, name)(*args, **variables)

    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert i18n.gettext("Help") == "帮助"
        for locale in (*LOCALES, "zh_Hans"):
            with force_locale(locale):
                for ours, babels in (
                    both("gettext", "One payment"),
                    both("gettext", "Choose a date within %(days)d days from today.", days=30),
                    both("ngettext", "%(num)s month with nothing to pay", "%(num)s months with nothing to pay", 1),
                    both("ngettext", "%(num)s month with nothing to pay", "%(num)s months with nothing to pay", 3),
                ):
                    assert ours == babels
        assert i18n.gettext("Help") == "帮助"


def test_the_layout_follows_each_visitors_language(client):
    english = client.get("/learn/annualised-rate", headers={"Accept-Language": "en"}).text
    chinese = client.get("/learn/annualised-rate", headers={"Accept-Language": "zh-TW"}).text
    again = client.get("/learn/annualised-rate", headers={"Accept-Language": "en"}).text
    assert 'lang="en"' in english and "Skip to main content" in english and "幫助" not in english
    assert 'lang="zh-Hant"' in chinese and "幫助" in chinese and "Skip to main content" not in chinese
    assert again == english


def test_a_guide_marks_help_as_the_current_area_and_the_sign_in_page_does_not(client):
    guide = client.get("/learn/annualised-rate").text
    sign_in = client.get("/sign-in").text
    assert 'class="header-help" href="/learn" aria-current="page"' in guide
    assert 'class="header-help" href="/learn">' in sign_in


def test_the_debug_server_keeps_no_fragment_so_edited_templates_show(app, monkeypatch):
    monkeypatch.setattr(app.jinja_env, "auto_reload", True)
    template = app.jinja_env.from_string('{% cache "edited", 1 %}{{ count() }}{% endcache %}')
    calls = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    with app.test_request_context("/"):
        assert [template.render(count=count) for _ in range(2)] == ["1", "2"]


def test_a_production_worker_compiles_every_template_before_its_first_request(database_url):
    app = make_app(database_url, PORTAL_ENV="production")
    try:
        names = [name for name in app.jinja_env.list_templates() if name.endswith(".html")]
        assert app.jinja_env.auto_reload is False
        # Once per language, translations folded: what requests and forced locales ask for.
        compiled = {(key[1], key[2]) for key in app.jinja_env.cache if len(key) == 3}
        assert compiled >= {(name, code) for name in names for code in LOCALES} and len(names) > 50
        # Not once more without a language: no page or document a worker renders wants it.
        assert not [key for key in app.jinja_env.cache if len(key) != 3]
    finally:
        with app.app_context():
            db.engine.dispose()


FOLDABLE = (
    '{{ _("Help") }}|{{ gettext("Sign in") }}|{{ _("a %% b <i>") }}|{% trans %}x%%{% endtrans %}'
    '|{% trans trimmed %}\n  Help\n{% endtrans %}|{% autoescape false %}{{ _("a <b>") }}{% endautoescape %}'
    '|{{ _("a <b>")|e }}|{{ _("Help") ~ "<" }}'
    # With variables: formatted at render time, the values escaped as the wrapper escapes them.
    '|{{ _("%(n)s days", n=3) }}|{% trans who=name ~ "<i>" %}Hello, {{ who }}{% endtrans %}'
    '|{% trans trimmed amount=("<b>1</b>"|safe), d=1.5 %}\n {{ amount }} by {{ d }} %%{% endtrans %}'
    '|{% autoescape false %}{% trans who="<i>" %}Hello, {{ who }}{% endtrans %}{% endautoescape %}'
)
LEFT = '{{ ngettext("%(num)s day", "%(num)s days", 2) }}|{{ _(name) }}'


def render_folded(app, source: str) -> tuple[str, int]:
    tree = app.jinja_env.parse(source)
    folded = fold_translations(tree, _translations())
    template = app.jinja_env.template_class.from_code(
        app.jinja_env, app.jinja_env.compile(tree), app.jinja_env.make_globals(None)
    )
    return template.render(name="Help"), folded


@pytest.mark.parametrize("locale", list(LOCALES))
def test_folded_translations_render_as_the_newstyle_calls_they_replace(app, locale):
    with app.test_request_context("/"), force_locale(locale):
        for source, count in ((FOLDABLE, 12), (LEFT, 0)):
            folded, how_many = render_folded(app, source)
            assert folded == render_template_string(source, name="Help")
            assert how_many == count
        if locale != "en":
            assert "Help" not in render_folded(app, '{{ _("Help") }}')[0]
        # A placeholder the call does not name fails when rendered: left to fail there.
        assert fold_translations(app.jinja_env.parse('{{ _("%(n)s days", m=3) }}'), _translations()) == 0


def test_a_template_that_names_its_own_underscore_is_left_as_it_is(app):
    with app.test_request_context("/"):
        for source in ('{% for _ in [1] %}{{ _("Help") }}{% endfor %}', '{% set gettext = 1 %}{{ gettext("Help") }}'):
            assert fold_translations(app.jinja_env.parse(source), _translations()) == 0


def test_a_page_template_is_compiled_once_per_language(app, client):
    for language in ("en", "zh-CN", "zh-TW"):
        client.get("/learn/annualised-rate", headers={"Accept-Language": language})
    keys = [key for key in app.jinja_env.cache if key[1] == "base.html"]
    assert {key[2] for key in keys if len(key) == 3} >= {"en", "zh_Hans", "zh_Hant"}


def test_the_layouts_flashed_messages_read_as_the_shared_macro_writes_them(app, client):
    """base.html writes the previous request's messages itself (no import on each page):
    the same markup as macros/layout.html's flashed_notices, which the staff layout uses."""
    from flask import flash, get_template_attribute

    with app.test_request_context("/"):
        flash("Paid <b>in full</b>", "info")
        flash("Second", "error")
        expected = str(get_template_attribute("macros/layout.html", "flashed_notices")())
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Paid <b>in full</b>"), ("error", "Second")]
    html = client.get("/sign-in").get_data(as_text=True)
    assert '<div class="notice notice-info" role="status">Paid &lt;b&gt;in full&lt;/b&gt;</div>' in expected
    assert '    <div class="wrap">\n      ' + expected + "\n      " in html
    assert "notice" not in client.get("/sign-in").get_data(as_text=True)  # shown once


def aside(html: str) -> str:
    return html.split('class="wrap ask-aside"')[1].split("</aside>")[0]


def test_a_guides_question_box_is_kept_per_language_and_never_with_a_readers_token(app, client, auth):
    """The box beside a guide is one fragment per language for signed-out readers and one
    for signed-in readers. A signed-in reader's box carries the request's own CSRF token,
    which the fragment does not keep: the next reader's box shows that reader's token."""
    from tests.conftest import CardholderAuth, make_account

    signed_out = client.get("/learn/annualised-rate").get_data(as_text=True)
    box = aside(signed_out)
    assert "csrf_token" not in box and 'name="question"' in box
    make_account(app)
    auth.sign_in()
    first = aside(client.get("/learn/annualised-rate").get_data(as_text=True))
    first_token = csrf_token(first)
    assert first_token and first_token not in str(fragments(app))
    assert [k for k in fragments(app) if k[0] == "ask-aside" and k[-1] is True]  # kept, without the token
    with app.test_client() as other:
        CardholderAuth(other).sign_in()
        second = aside(other.get("/learn/annualised-rate").get_data(as_text=True))
    second_token = csrf_token(second)
    assert second_token != first_token and first_token not in second
    assert second.replace(second_token, first_token) == first
    with app.test_client() as other:  # signed out again, after signed-in renders
        again = other.get("/learn/annualised-rate").get_data(as_text=True)
    assert aside(again) == box and "csrf_token" not in again


def test_the_footers_sign_out_form_is_kept_per_language_with_each_readers_own_token(app):
    from tests.conftest import CardholderAuth, make_account

    make_account(app)
    footers, tokens = [], []
    for _ in range(2):
        with app.test_client() as reader:
            CardholderAuth(reader).sign_in()
            page = reader.get("/account").get_data(as_text=True)
        footer = page.split('<footer class="site-footer">')[1]
        footers.append(footer)
        tokens.append(csrf_token(footer))
        assert 'action="/sign-out"' in footer and csrf_token(aside(page)) == tokens[-1]
    assert tokens[0] != tokens[1] and footers[1].replace(tokens[1], tokens[0]) == footers[0]
    assert [k for k in fragments(app) if k[0] == "site-footer" and True in k]
    assert not [token for token in tokens if token in str(fragments(app))]


def test_a_fragment_keeps_the_places_of_the_requests_token_not_the_token(app):
    template = app.jinja_env.from_string('{% cache "t", 1 %}<i>{{ csrf_token() }}</i>{{ csrf_token() }}{% endcache %}')
    tokens, shown = [], []
    for _ in range(2):
        with app.test_request_context("/"):
            shown.append(template.render())
            tokens.append(app.jinja_env.globals["csrf_token"]())
    assert tokens[0] != tokens[1]
    assert shown == [f"<i>{token}</i>{token}" for token in tokens]
    assert fragments(app)[("t", 1)] == ("<i>", "</i>", "")
