"""The account page: what a cardholder owes, formatted for their locale and currency."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import make_account


def test_account_page_shows_every_figure_in_english(app, client, auth):
    make_account(app, principal="10000.00", interest=Decimal("489.00"), late_fees=Decimal("140.00"))
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    for text in [
        "CN¥2,000.00",
        "35 days past due",
        "CN¥2,100.00",
        "15 December 2026",
        "CN¥10,629.00",
        "CN¥10,000.00",
        "CN¥489.00",
        "CN¥140.00",
        "CN¥20,000.00",
        "What happens next",
        "Card ending 0017",
    ]:
        assert text in html, text


def test_account_page_in_simplified_chinese_with_hkd(app, client, auth):
    make_account(app, currency="HKD", locale="zh_Hans", dpd=1)
    client.get("/language/zh_Hans?next=/account")
    auth.sign_in()
    html = client.get("/account").get_data(as_text=True)
    assert 'lang="zh-Hans"' in html
    assert "HK$2,000.00" in html and "2026年12月15日" in html


def test_accept_language_picks_traditional_chinese(app, client):
    html = client.get("/sign-in", headers={"Accept-Language": "zh-HK,zh;q=0.8,en;q=0.5"}).get_data(as_text=True)
    assert 'lang="zh-Hant"' in html


def test_language_switcher_keeps_the_page_and_refuses_unknown_locales(app, client):
    response = client.get("/language/zh_Hant?next=/sign-in")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert 'lang="zh-Hant"' in client.get("/sign-in").get_data(as_text=True)
    assert client.get("/language/xx?next=/sign-in").status_code == 404
    # Never an open redirect.
    assert client.get("/language/en?next=//evil.example/").headers["Location"] == "/"
    assert client.get("/language/en?next=https://evil.example/").headers["Location"] == "/"
    for evil in ("/%5C/evil.example", "%2F%2Fevil.example"):
        assert client.get(f"/language/en?next={evil}").headers["Location"] == "/", evil
    for evil in ("/%09/evil.example/x", "/%0a/evil.example"):  # control characters: refused at the edge
        response = client.get(f"/language/en?next={evil}")
        assert response.status_code == 400 and "Location" not in response.headers, evil


def test_another_cardholders_account_id_is_not_found(app, client, auth):
    mine = make_account(app)
    other = make_account(app, card="6222000000000025", name="王小明", reference="OTHER")
    auth.sign_in()
    assert client.get(f"/accounts/{mine}").status_code == 200
    response = client.get(f"/accounts/{other}")
    assert response.status_code == 404 and "王小明" not in response.get_data(as_text=True)


def test_account_page_needs_sign_in(app, client):
    response = client.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_account_page_labels_speak_each_language_in_turn(app, client, auth):
    # The page's fixed words are folded into each language's compiled template
    # (portal.templating): each language still gets its own, with the catalog's text as
    # the template's _() would write it (an apostrophe unescaped).
    import html as html_lib

    from babel.messages.pofile import read_po

    from portal.i18n import LOCALES

    make_account(app)
    auth.sign_in()
    words = ["Minimum due", "Credit limit", "Interest", "Late fees", "Recent payments"]
    words.append(
        "This is the overdue amount plus this month's minimum payment. It is never more than what you owe in total."
    )
    for locale in (*LOCALES, "en"):
        with open(f"translations/{locale}/LC_MESSAGES/messages.po", encoding="utf-8") as po:
            catalog = read_po(po)
        client.get(f"/language/{locale}?next=/account")
        page = client.get("/account").get_data(as_text=True)
        for word in words:
            entry = catalog.get(word)
            translated = entry.string if entry is not None and entry.string else word
            assert translated in page, (locale, word)
            assert html_lib.escape(translated) == translated or html_lib.escape(translated) not in page
