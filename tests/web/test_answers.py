"""The /ask page: answers from our own guides, hand-overs to a person, questions kept
without numbers, and the unanswered-questions page for policy admins."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.answers.models import AskedQuestion
from portal.audit.models import AuditEvent
from portal.cases.models import CaseEvent, CaseTask
from portal.clock import freeze
from portal.extensions import db
from portal.staff.models import Role
from tests.conftest import csrf_token, make_account
from tests.staff_helpers import signed_in_staff


def ask(client, question: str, lang: str | None = None):
    """Asks as a person would: through the box on /ask, with its token when it has one
    (only a signed-in person's box does)."""
    if lang:
        client.get(f"/language/{lang}")
    box = client.get("/ask").get_data(as_text=True)
    data = {"question": question}
    if 'name="csrf_token"' in box:
        data["csrf_token"] = csrf_token(box)
    return client.post("/ask", data=data)


def test_the_box_is_on_help_pages_and_posts_to_ask(client):
    page = client.get("/learn/plan-types").get_data(as_text=True)
    assert 'action="/ask"' in page and 'method="post"' in page and 'name="question"' in page


def test_an_anonymous_help_page_sets_no_cookie_and_asks_no_token(client):
    """A visitor reading a guide gets no session: nothing is written for a page view, and
    the box, which needs no token before sign-in, does not make one."""
    for path in ("/learn/annualised-rate", "/learn", "/ask"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path
        assert 'name="csrf_token"' not in response.get_data(as_text=True), path
    assert client.get_cookie("portal_session") is None


def test_an_anonymous_question_is_answered_without_a_token_or_a_session(client, query):
    response = client.post("/ask", data={"question": "what is an annualised rate"})
    assert response.status_code == 200 and "From our help guides" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert query.one(select(AskedQuestion.topic)) == "annualised-rate"


def test_a_signed_in_box_carries_a_token(app, client, auth):
    make_account(app)
    auth.sign_in()
    for path in ("/learn/annualised-rate", "/ask", "/account"):
        html = client.get(path).get_data(as_text=True)
        box = html.split('class="card ask-box"')[1].split("</section>")[0]
        assert csrf_token(box), path


def test_a_confident_answer_quotes_a_guide_and_links_to_it(client, query):
    page = ask(client, "what is an annualised rate and why is it higher than the monthly fee")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "From our help guides" in html and 'href="/learn/annualised-rate"' in html
    assert "<blockquote" in html and "Related topics" in html
    kept = query.one(select(AskedQuestion))
    assert (kept.locale, kept.topic, kept.confident, kept.escalate) == ("en", "annualised-rate", True, None)


def test_a_question_without_a_match_says_so_and_offers_a_person(client, query):
    html = ask(client, "who won the football last night").get_data(as_text=True)
    assert "We are not sure we have an answer to that" in html
    assert "400 000 0000" in html  # the care number of every jurisdiction, before sign-in
    assert "From our help guides" not in html
    assert query.one(select(AskedQuestion.confident)) is False


def test_an_empty_question_is_refused_with_a_message(client, query):
    page = ask(client, "   ")
    assert page.status_code == 422 and "Type your question." in page.get_data(as_text=True)
    assert query(select(AskedQuestion)) == []


def test_a_signed_in_question_without_its_csrf_token_is_refused(app, client, auth, query):
    """Signed in, a question can open a task or pause the account: another site must not
    be able to post one in the cardholder's name."""
    make_account(app)
    auth.sign_in()
    refused = client.post("/ask", data={"question": "this is not my debt, I never had this card"})
    assert refused.status_code == 400 and "This form has expired" in refused.get_data(as_text=True)
    forged = client.post("/ask", data={"question": "I lost my job", "csrf_token": "not-the-token"})
    assert forged.status_code == 400
    assert query(select(AskedQuestion)) == [] and query(select(CaseTask)) == []


def test_numbers_that_identify_someone_are_not_kept(client, query):
    ask(client, "my card 6222 0212 3456 7890 and ID 11010519491231002X, phone 138 0013 8000, why overdue?")
    kept = query.one(select(AskedQuestion.question))
    assert not re.search(r"\d{4}", kept) and "X," not in kept and "why overdue?" in kept


def test_a_question_in_traditional_chinese_is_answered_in_traditional(client):
    html = ask(client, "年化利率係咩嚟㗎", lang="zh_Hant").get_data(as_text=True)
    assert 'href="/learn/annualised-rate"' in html and "摘自我們的幫助指南" in html


def test_a_hand_over_before_sign_in_shows_how_to_reach_us_and_opens_nothing(client, query):
    html = ask(client, "I want to speak to a real person").get_data(as_text=True)
    assert "A person should help you with this" in html and "400 000 0000" in html
    assert query(select(CaseTask)) == []
    assert query.one(select(AskedQuestion.escalate)) == "human"


def test_a_hand_over_before_sign_in_says_nothing_has_been_passed_on(client, query):
    """Before sign-in nobody is told of the question: the page must not leave the reader
    thinking that "a person will check it" is already under way."""
    html = ask(client, "this is not my debt, I never had this card").get_data(as_text=True)
    assert "A person should help you with this" in html
    assert "nothing has been passed on yet" in html and 'href="/sign-in"' in html.split("hand-over")[1]
    assert query(select(CaseTask)) == []


def test_a_confident_answer_still_offers_a_person(client):
    """The rules miss wordings nobody wrote down (held-out recall before review was about a
    third), so even a confident answer shows the way to a person."""
    html = ask(client, "what does an annualised rate mean").get_data(as_text=True)
    assert "From our help guides" in html and "Talk to a person" in html and "400 000 0000" in html


def test_words_of_self_harm_show_the_crisis_lines_first_and_no_guide(client):
    html = ask(client, "I can't see a way out, I want to end my life").get_data(as_text=True)
    assert "You are not alone" in html and "12356" in html and "18111" in html
    assert "<blockquote" not in html and "From our help guides" not in html


def test_the_crisis_lines_promise_no_more_than_their_operators_do(client):
    """12356 must be staffed 18 hours a day (National Health Commission, December 2024), and
    the Beijing centre's 010 number is an ordinary call: neither is "free, 24 hours"."""
    html = ask(client, "i want to kill myself").get_data(as_text=True)
    crisis = html.split('class="card highlight crisis"')[1].split("</section>")[0]
    mainland = crisis.split("<h3>Hong Kong</h3>")[0]  # before sign-in, every place's lines
    assert "12356" in mainland and "free" not in mainland.lower()
    # "call the emergency services" comes with their number, in each place
    assert 'href="tel:120"' in mainland and 'href="tel:999"' in crisis.split("<h3>Hong Kong</h3>")[1]
    assert "call one of these free lines" not in crisis


def test_a_signed_in_hardship_question_opens_one_task_for_care_staff(app, client, auth, query):
    account_id = make_account(app)
    auth.sign_in()
    assert 'action="/ask"' in client.get("/account").get_data(as_text=True)  # the box on journey pages too
    html = ask(client, "I lost my job last week and can't pay, my number is 13800138000").get_data(as_text=True)
    assert "We have asked our care team to contact you" in html
    assert "nothing has been passed on" not in html
    assert 'href="/learn/cannot-pay"' in html  # the hand-over's own guide, chosen by the rule
    again = ask(client, "still cannot pay anything").get_data(as_text=True)
    assert "already has your earlier question" in again

    task = query.one(select(CaseTask))
    assert (task.account_id, task.kind, task.reason, task.created_by) == (
        account_id,
        "question",
        "hardship",
        f"cardholder:{account_id}",
    )
    assert "13800138000" not in task.note and "lost my job" in task.note
    assert query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id)) == ["task_opened"]


def test_a_signed_in_dispute_pauses_the_account_like_the_care_desk_does(app, client, auth, query):
    account_id = make_account(app)
    auth.sign_in()
    html = ask(client, "this is not my debt, I never had this card").get_data(as_text=True)
    assert "We have paused messages and plans on your account" in html

    from portal.accounts.models import CardAccount

    assert "dispute" in query.one(select(CardAccount.flags).where(CardAccount.id == account_id))
    kinds = query(select(CaseEvent.kind).where(CaseEvent.account_id == account_id).order_by(CaseEvent.id))
    assert kinds == ["flag_set", "task_opened"]
    actions = query(select(AuditEvent.action).where(AuditEvent.actor_id == str(account_id)))
    assert "account.flag_set" in actions and "case.task_opened" in actions


def test_the_ask_command_prints_the_answer_as_json(app):
    result = app.test_cli_runner().invoke(
        args=["portal", "ask", "停息挂账是什么", "--locale", "zh_Hans", "--json"], catch_exceptions=False
    )
    printed = json.loads(result.output)
    assert list(printed) == ["topic", "passage", "score", "confident", "escalate", "related"]
    assert printed["topic"] == "plan-types" and printed["passage"] and printed["escalate"] is None
    assert isinstance(printed["score"], float) and len(printed["related"]) <= 2

    nothing = json.loads(app.test_cli_runner().invoke(args=["portal", "ask", "zzzz qqqq", "--json"]).output)
    assert (nothing["topic"], nothing["passage"], nothing["confident"]) == (None, "", False)
    crisis = json.loads(app.test_cli_runner().invoke(args=["portal", "ask", "i want to kill myself", "--json"]).output)
    assert (crisis["escalate"], crisis["topic"], crisis["related"]) == ("self_harm", None, [])


def test_policy_admins_see_unanswered_questions_counted_newest_first(app, client, query):
    freeze(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    for question in ("Who won the football?", "who won  the FOOTBALL?", "what is a settlement"):
        ask(client, question)
    freeze(datetime(2026, 12, 10, 10, 0, tzinfo=UTC))
    ask(client, "best phone to buy")
    ask(client, "I want to make a complaint")  # handed over by rule: not a content gap
    client.get("/language/en")
    signed_in_staff(app, client, Role.POLICY_ADMIN)
    html = client.get("/admin/questions/").get_data(as_text=True)
    rows = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>\s*<td>[^<]*</td>\s*<td class="num">(\d+)</td>', html)
    assert rows == [("best phone to buy", "1"), ("who won  the FOOTBALL?", "2")]
    assert "complaint" not in html and "settlement" not in html


def test_only_policy_admins_open_the_unanswered_questions(app, client):
    signed_in_staff(app, client, Role.AGENT)
    assert client.get("/admin/questions/").status_code == 403


def test_prune_deletes_questions_past_the_retention_period(app, client, query):
    freeze(datetime(2026, 1, 1, tzinfo=UTC))
    ask(client, "old question about fees")
    freeze(datetime(2026, 12, 1, tzinfo=UTC))
    ask(client, "new question about fees")
    result = app.test_cli_runner().invoke(args=["portal", "answers", "prune"], catch_exceptions=False)
    assert "Deleted 1 question" in result.output
    assert query(select(AskedQuestion.question)) == ["new question about fees"]
    assert app.config["QUESTION_RETENTION_DAYS"] == 180
    with app.app_context():
        assert db.session.execute(select(AskedQuestion)).scalar_one().asked_at > datetime(2026, 1, 1, tzinfo=UTC) + (
            timedelta(days=180)
        )


def test_questions_are_rate_limited_per_address(client):
    """Before sign-in a question needs no token: the limit is what bounds a script."""
    codes = [client.post("/ask", data={"question": "what is a settlement"}).status_code for _ in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429


def test_a_signed_in_cardholder_with_words_of_self_harm_is_called_too(app, client, auth, query):
    make_account(app)
    auth.sign_in()
    html = ask(client, "i want to kill myself").get_data(as_text=True)
    assert "12356" in html and "We have also asked our care team to contact you." in html
    assert query.one(select(CaseTask.reason)) == "self_harm"
