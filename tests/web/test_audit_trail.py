"""The audit trail: tampering caught by `portal audit verify`, the viewer and its CSV export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from portal.audit import sealing
from portal.audit.actions import AuditAction
from portal.audit.hashing import content_mac, event_hash
from portal.audit.models import AuditEvent, AuditHead
from portal.audit.service import SYSTEM, Actor, _canonical, record, record_row, verify_chain
from portal.audit.viewer import safe_cell
from portal.extensions import db
from portal.staff.models import Role
from tests.staff_helpers import signed_in_staff

# Tampering goes through connections of their own, as an intruder's would: real commits.
pytestmark = pytest.mark.real_commits

START = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
# Every column of an event but its id and chain place: a copy of it in a new row.
_CONTENT = "occurred_at, actor_type, actor_id, action, object_type, object_id, before, after, ip, chain_version"
COPY_EVENT = f"INSERT INTO audit_events ({_CONTENT}, nonce, content_mac) SELECT {_CONTENT}, nonce, content_mac "
COPY_EVENT += "FROM audit_events WHERE id = :id"


class TestAction(AuditAction):
    """Actions only these tests write: ``record()`` takes registered members alone."""

    __test__ = False  # not a pytest class
    STEP0 = "test.step0"
    STEP1 = "test.step1"
    STEP2 = "test.step2"
    FORMULA = "test.formula"
    PENDING = "test.pending"
    ROLLED_BACK = "test.rolled_back"
    SAME = "test.same"


def write_events(app, count: int = 5, *, start: datetime = START) -> list[int]:
    with app.app_context():
        ids = []
        for n in range(count):
            event = record(
                Actor("staff", str(n % 2 + 1), "10.0.0.1"),
                TestAction(f"test.step{n % 3}"),
                ("thing", n),
                before={"n": n},
                after={"n": n + 1},
                at=start + timedelta(hours=n),
            )
            ids.append(event.id)
        db.session.commit()
        return ids


def verify(app):
    return app.test_cli_runner().invoke(args=["portal", "audit", "verify"])


def test_an_intact_chain_verifies(app):
    write_events(app)
    result = verify(app)
    assert result.exit_code == 0 and "audit chain intact: 5 events" in result.output


def test_an_empty_chain_verifies(app):
    assert verify(app).exit_code == 0


def test_a_changed_after_is_caught_and_named(app, query):
    ids = write_events(app)
    query.run(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(after={"n": 999})))
    result = verify(app)
    assert result.exit_code == 1
    assert f"broken at event {ids[2]} (changed)" in result.output


def test_a_deleted_event_is_caught_at_the_next_one(app, query):
    ids = write_events(app)
    query.run(lambda s: s.execute(delete(AuditEvent).where(AuditEvent.id == ids[1])))
    result = verify(app)
    assert result.exit_code == 1
    assert f"broken at event {ids[2]} (deleted)" in result.output and f"stored after event {ids[0]}" in result.output


def test_two_swapped_ids_are_caught_as_out_of_order(app, query):
    ids = write_events(app)
    a, b = ids[1], ids[2]

    def swap(session):
        session.execute(text("UPDATE audit_events SET id = -1 WHERE id = :a"), {"a": a})
        session.execute(text("UPDATE audit_events SET id = :a WHERE id = :b"), {"a": a, "b": b})
        session.execute(text("UPDATE audit_events SET id = :b WHERE id = -1"), {"b": b})

    query.run(swap)
    result = verify(app)
    assert result.exit_code == 1
    assert f"broken at event {a} (out_of_order)" in result.output
    assert f"written after event {b}" in result.output


def test_a_re_hashed_change_is_caught_at_the_next_event(app, query):
    ids = write_events(app)

    def forge(session):
        event = session.get(AuditEvent, ids[1])
        event.after = {"n": 999}
        event.hash = event_hash(event)

    query.run(forge)
    result = verify(app)
    assert result.exit_code == 1 and f"broken at event {ids[2]} (deleted)" in result.output


def test_a_deleted_tail_is_caught_with_a_known_hash(app, query):
    ids = write_events(app)
    known = query.one(select(AuditEvent.hash).where(AuditEvent.id == ids[-1]))
    query.run(lambda s: s.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1])))
    query.run(lambda s: s.execute(delete(AuditHead)))  # so that only --known can notice
    result = app.test_cli_runner().invoke(args=["portal", "audit", "verify", "--known", known])
    assert result.exit_code == 1 and "missing" in result.output


# --- the keyed chain: someone with the database but not PORTAL_AUDIT_KEY ---------------


def plain_sha256(event) -> str:
    """What an attacker without the key computes: the old, unkeyed hash of the content."""
    payload = {
        name: getattr(event, name)
        for name in (
            "actor_type",
            "actor_id",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "ip",
            "prev_hash",
        )
    }
    payload["occurred_at"] = event.occurred_at.isoformat(timespec="microseconds")
    payload["chain_version"] = event.chain_version
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def rewrite_from(session, first_id: int, *, downgrade: bool) -> None:
    """Change event ``first_id`` and re-hash it and every later event with plain SHA-256."""
    previous = (
        session.execute(
            select(AuditEvent.hash).where(AuditEvent.id < first_id).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar()
        or "0" * 64
    )
    for event in session.execute(select(AuditEvent).where(AuditEvent.id >= first_id).order_by(AuditEvent.id)).scalars():
        if event.id == first_id:
            event.after = {"n": 999}
        if downgrade:
            event.chain_version = 1  # pretend it was written before the chain was keyed
        event.prev_hash = previous
        event.hash = plain_sha256(event) if not downgrade else hashlib.sha256(_canonical(event, 1)).hexdigest()
        previous = event.hash
        session.flush()


@pytest.mark.parametrize("downgrade", [False, True])
def test_a_row_rewritten_and_re_hashed_without_the_key_is_caught(app, query, downgrade):
    ids = write_events(app)
    query.run(lambda s: rewrite_from(s, ids[2], downgrade=downgrade))
    result = verify(app)
    assert result.exit_code == 1 and f"broken at event {ids[2]}" in result.output


def test_a_whole_chain_rewritten_as_old_plain_events_is_caught_by_the_head(app, query):
    ids = write_events(app)
    query.run(lambda s: rewrite_from(s, ids[0], downgrade=True))
    result = verify(app)
    assert result.exit_code == 1 and "re-hashed without the audit key" in result.output


def test_a_deleted_tail_is_caught_without_a_known_hash(app, query):
    ids = write_events(app)
    query.run(lambda s: s.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids[-2:]))))
    result = verify(app)
    assert result.exit_code == 1 and f"events after event {ids[-3]} up to event {ids[-1]} are missing" in result.output


def test_a_head_moved_back_without_the_key_is_caught(app, query):
    ids = write_events(app)

    def cut(session):
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1]))
        event = session.get(AuditEvent, ids[-2])
        session.execute(
            update(AuditHead).values(
                event_id=event.id,
                event_hash=event.hash,
                mac=hashlib.sha256(f"{event.id}:{event.hash}".encode()).hexdigest(),
            )
        )

    query.run(cut)
    result = verify(app)
    assert result.exit_code == 1 and "not sealed with the audit key" in result.output


def test_a_deleted_head_is_caught(app, query):
    ids = write_events(app)
    query.run(lambda s: s.execute(delete(AuditHead)))
    write_events(app, 1, start=START + timedelta(days=1))  # later events do not quietly re-create it
    result = verify(app)
    assert result.exit_code == 1 and "(unsealed)" in result.output and ids


def test_events_are_keyed_with_the_audit_key(app, query):
    # New events (chain version 3) carry a keyed content MAC and, once sealed, a keyed link.
    [event_id] = write_events(app, 1)
    event = query.one(select(AuditEvent).where(AuditEvent.id == event_id))
    assert event.chain_version == 3 and event.hash != plain_sha256(event)
    with app.app_context():
        assert event_hash(event, b"another key") != event.hash == event_hash(event)
        assert content_mac(event, b"another key") != event.content_mac == content_mac(event)


# --- appended without a lock, chained by the sealer after the commit -------------------


def write_pending(app, count: int = 3, *, start: datetime = START) -> list[int]:
    """Events committed but not sealed yet, as when the process stops right after its
    commit, before its after-commit hook runs."""
    with app.app_context():
        ids = [
            record(SYSTEM, TestAction.PENDING, ("thing", n), at=start + timedelta(minutes=n)).id for n in range(count)
        ]
        db.session().info.pop(sealing._RECORDED)
        db.session.commit()
        return ids


def chain_of(query) -> list[tuple[int, int | None]]:
    return [
        tuple(row)
        for row in query.run(
            lambda s: s.execute(select(AuditEvent.id, AuditEvent.position).order_by(AuditEvent.id)).all()
        )
    ]


def test_a_commit_seals_its_events_and_moves_the_head(app, query):
    ids = write_events(app, 3)
    assert chain_of(query) == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]
    head = query.one(select(AuditHead))
    assert head.event_id == ids[2] and head.event_hash == query.one(
        select(AuditEvent.hash).where(AuditEvent.id == ids[2])
    )


def test_a_rolled_back_record_leaves_no_event(app, query):
    with app.app_context():
        record(SYSTEM, TestAction.ROLLED_BACK)
        db.session.rollback()
    assert query(select(AuditEvent.id)) == [] and query(select(AuditHead)) == []


def test_pending_events_verify_and_the_seal_command_chains_them(app, query):
    sealed = write_events(app, 2)
    pending = write_pending(app, 3)
    assert [position for _id, position in chain_of(query)] == [1, 2, None, None, None]
    with app.app_context():
        assert verify_chain() is None  # pending is not broken: each is checked by its MAC
    result = app.test_cli_runner().invoke(args=["portal", "audit", "seal"])
    assert result.exit_code == 0 and "sealed: 3 new events" in result.output
    assert chain_of(query) == [(sealed[0], 1), (sealed[1], 2), (pending[0], 3), (pending[1], 4), (pending[2], 5)]
    assert "audit chain intact: 5 events" in verify(app).output


def read_event(app, n: int) -> None:
    """A page read's event (``record_row``, as a case file viewed writes), committed."""
    with app.app_context():
        record_row(SYSTEM, TestAction.PENDING, ("thing", n), at=START + timedelta(minutes=n))
        db.session.commit()


def test_reads_within_a_second_of_a_seal_wait_and_the_next_write_seals_them(app, query, monkeypatch):
    monkeypatch.setattr(sealing, "READ_SEAL_SECONDS", 3600.0)  # however slow the machine
    sealing.sealed_now()  # this process has just sealed
    read_event(app, 1)
    read_event(app, 2)
    assert [position for _id, position in chain_of(query)] == [None, None]  # waiting, each under its MAC
    with app.app_context():
        assert verify_chain() is None
    written = write_events(app, 1)  # a write seals at once, whatever the interval
    assert [position for _id, position in chain_of(query)] == [1, 2, 3] and chain_of(query)[-1][0] == written[0]
    assert "audit chain intact: 3 events" in verify(app).output


def test_a_read_seals_after_its_commit_once_the_interval_is_over(app, query, monkeypatch):
    sealing.sealed_now(float("-inf"))  # no seal in this process for longer than READ_SEAL_SECONDS
    read_event(app, 1)
    assert [position for _id, position in chain_of(query)] == [1]
    monkeypatch.setattr(sealing, "READ_SEAL_SECONDS", 3600.0)  # however slow the machine
    read_event(app, 2)  # within the interval the first one started: waits
    assert [position for _id, position in chain_of(query)] == [1, None]
    monkeypatch.setattr(sealing, "READ_SEAL_SECONDS", 0.0)  # the interval is over
    read_event(app, 3)
    assert [position for _id, position in chain_of(query)] == [1, 2, 3]


def test_a_read_waiting_for_its_seal_is_sealed_by_the_seal_command(app, query, monkeypatch):
    monkeypatch.setattr(sealing, "READ_SEAL_SECONDS", 3600.0)
    sealing.sealed_now()
    read_event(app, 1)
    assert chain_of(query)[0][1] is None
    result = app.test_cli_runner().invoke(args=["portal", "audit", "seal"])  # the scheduler's job
    assert result.exit_code == 0 and "sealed: 1 new events" in result.output
    assert [position for _id, position in chain_of(query)] == [1]


def test_a_tampered_unsealed_event_is_caught(app, query):
    write_events(app, 2)
    pending = write_pending(app, 2)
    query.run(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == pending[0]).values(after={"n": 999})))
    with app.app_context():
        problem = verify_chain()  # before any sealing: its content MAC no longer matches
    assert problem is not None and problem.event_id == pending[0] and problem.code == "changed"
    assert "not sealed yet" in problem.reason
    result = verify(app)  # verify seals first; the link keeps the MAC the event was written with
    assert result.exit_code == 1 and f"broken at event {pending[0]} (changed)" in result.output


def test_an_unsealed_event_with_a_made_up_mac_is_caught(app, query):
    pending = write_pending(app, 1)
    query.run(
        lambda s: s.execute(
            update(AuditEvent).where(AuditEvent.id == pending[0]).values(after={"n": 999}, content_mac="0" * 64)
        )
    )
    result = verify(app)
    assert result.exit_code == 1 and f"broken at event {pending[0]} (changed)" in result.output


def test_a_copied_event_is_refused(app, query):
    [original] = write_events(app, 1)
    with pytest.raises(IntegrityError):
        query.run(lambda s: s.execute(text(COPY_EVENT), {"id": original}))
    assert query(select(AuditEvent.id)) == [original]


def test_two_identical_events_get_different_macs(app, query):
    with app.app_context():
        for _ in range(2):
            record(SYSTEM, TestAction.SAME, ("thing", 1), after={"n": 1}, at=START)
        db.session.commit()
    assert len(set(query(select(AuditEvent.content_mac)))) == 2
    assert "audit chain intact: 2 events" in verify(app).output


def test_two_swapped_positions_are_caught_as_out_of_order(app, query):
    ids = write_events(app)

    def swap(session):
        session.execute(text("UPDATE audit_events SET position = -1 WHERE id = :a"), {"a": ids[1]})
        session.execute(text("UPDATE audit_events SET position = 2 WHERE id = :b"), {"b": ids[2]})
        session.execute(text("UPDATE audit_events SET position = 3 WHERE id = :a"), {"a": ids[1]})

    query.run(swap)
    result = verify(app)
    assert result.exit_code == 1 and f"broken at event {ids[1]} (out_of_order)" in result.output


def test_a_cut_tail_stays_visible_after_later_events_are_sealed(app, query):
    ids = write_events(app, 3)
    query.run(lambda s: s.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1])))
    [later] = write_events(app, 1, start=START + timedelta(days=1))  # sealed after the head, not after the last row
    result = verify(app)
    assert result.exit_code == 1 and f"broken at event {later} (deleted)" in result.output


def test_the_seal_command_refuses_a_chain_whose_head_is_missing(app, query):
    write_events(app, 2)
    query.run(lambda s: s.execute(delete(AuditHead)))
    pending = write_pending(app, 1)
    result = app.test_cli_runner().invoke(args=["portal", "audit", "seal"])
    assert result.exit_code == 1 and "head record is missing" in result.output
    assert (pending[0], None) in chain_of(query) and query(select(AuditHead)) == []


def test_the_seal_command_refuses_a_forged_head(app, query):
    ids = write_events(app, 2)
    query.run(lambda s: s.execute(update(AuditHead).values(mac="f" * 64)))
    write_pending(app, 1)
    result = app.test_cli_runner().invoke(args=["portal", "audit", "seal"])
    assert result.exit_code == 1 and "not sealed with the audit key" in result.output
    assert query.one(select(AuditHead.event_id)) == ids[-1]


def test_the_viewer_shows_pending_events_and_the_next_commit_seals_them(app, client, query):
    signed_in_staff(app, client, Role.AUDITOR)
    pending = write_pending(app, 2)
    page = client.get("/admin/audit/?action=test.").get_data(as_text=True)
    assert "2 events match" in page and all(f">{n}<" in page for n in pending)
    assert [position for event_id, position in chain_of(query) if event_id in pending] == [None, None]
    # The export records itself and commits: that commit's sealer chains them too.
    rows = list(csv.reader(io.StringIO(client.get("/admin/audit/export.csv?action=test.").get_data(as_text=True))))
    assert [row[0] for row in rows[1:]] == [str(n) for n in pending] and all(row[-1] for row in rows[1:])


@pytest.mark.parametrize(
    "value, shown",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (None, ""),
        (12, "12"),
        ({"a": "=1"}, '{"a": "=1"}'),
    ],
)
def test_csv_cells_never_start_a_formula(value, shown):
    assert safe_cell(value) == shown


# --- the viewer -----------------------------------------------------------------------


def test_auditors_filter_by_actor_action_object_and_dates(app, client):
    write_events(app, 6)  # at 04:00..09:00 UTC = 12:00..17:00 in Shanghai on 2026-11-28
    write_events(app, 2, start=START + timedelta(days=3))
    signed_in_staff(app, client, Role.AUDITOR)
    page = client.get("/admin/audit/?actor=staff:2&action=test.&object_type=thing").get_data(as_text=True)
    assert "4 events match" in page  # staff:2 wrote n = 1, 3, 5 on day one and n = 1 on day four
    page = client.get("/admin/audit/?action=test.step0&date_from=2026-11-28&date_to=2026-11-28").get_data(as_text=True)
    assert "2 events match" in page
    page = client.get("/admin/audit/?object_type=thing&object_id=4").get_data(as_text=True)
    assert "1 event matches" in page
    assert client.get("/admin/audit/?date_from=not-a-date").status_code == 400


def test_dates_are_the_viewers_days_in_shanghai(app, client):
    # 2026-11-28 17:30 UTC is already 2026-11-29 01:30 in Shanghai.
    write_events(app, 1, start=datetime(2026, 11, 28, 17, 30, tzinfo=UTC))
    signed_in_staff(app, client, Role.AUDITOR)
    assert "0 events match" in client.get("/admin/audit/?date_to=2026-11-28&action=test.").get_data(as_text=True)
    assert "1 event matches" in client.get("/admin/audit/?date_from=2026-11-29&action=test.").get_data(as_text=True)


def test_the_viewer_pages_through_events(app, client):
    write_events(app, 55)
    signed_in_staff(app, client, Role.AUDITOR)
    first = client.get("/admin/audit/?action=test.").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Older" in first
    second = client.get("/admin/audit/?action=test.&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and "Newer" in second


def test_the_csv_export_streams_the_filtered_set_without_formulas(app, client, query):
    write_events(app, 3)
    with app.app_context():
        record(Actor("staff", "1"), TestAction.FORMULA, ("thing", "=cmd|' /C calc'!A0"), after={"note": "-1+1"})
        db.session.commit()
    signed_in_staff(app, client, Role.AUDITOR)
    response = client.get("/admin/audit/export.csv?action=test.")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:6] == ["id", "occurred_at_utc", "occurred_at_local", "actor_type", "actor_id", "action"]
    assert len(rows) == 5 and rows[1][2] == "2026-11-28T12:00:00+08:00"
    formula = rows[-1]
    assert formula[5] == "test.formula" and formula[7] == "'=cmd|' /C calc'!A0"
    only = list(csv.reader(io.StringIO(client.get("/admin/audit/export.csv?action=test.step1").get_data(as_text=True))))
    assert len(only) == 2
    # Each export is on the trail itself, with the filter that chose its rows.
    exported = select(AuditEvent.after).where(AuditEvent.action == "audit.exported").order_by(AuditEvent.id)
    assert query(exported) == [{"filter": {"action": "test."}}, {"filter": {"action": "test.step1"}}]
    assert query(select(AuditEvent.actor_type).where(AuditEvent.action == "audit.exported")) == ["staff", "staff"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_care_staff_cannot_read_the_audit_trail(app, client, role):
    write_events(app, 1)
    signed_in_staff(app, client, role)
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    response = client.get("/admin/audit/")
    assert response.status_code == 302 and "/care/sign-in" in response.headers["Location"]
