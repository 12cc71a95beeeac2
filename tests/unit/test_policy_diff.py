"""Field-level differences between policy documents."""

from __future__ import annotations

import copy
from dataclasses import replace

from portal.domain.default_policy import default_policy
from portal.policies.diff import ABSENT, changed_paths, diff, flatten


def document() -> dict:
    return default_policy().to_dict()


def test_flatten_names_every_leaf_by_tier_name():
    flat = flatten(document())
    assert flat["currency"] == "CNY"
    assert flat["tiers[M3].installment.tenors"] == [6, 12, 24, 36]
    assert flat["tiers[W/O].max_dpd"] is None
    assert flat["blocking_flags"] == ["deceased", "dispute", "fraud"]
    assert flat["tiers[M2].missed_payment.grace_days"] == 10
    assert flat["tiers[M2].reminders.days_before"] == 3
    # 5 tiers × (3 tier fields + 11 + 12 + 9 + 10 limits + 3 missed-payment rules + 3 reminder
    # points) + 9 policy fields
    assert len(flat) == 5 * 53 + 9


def test_identical_documents_have_no_changes():
    rows = diff(document(), document())
    assert rows and not any(row.changed for row in rows)
    assert changed_paths(document(), document()) == []


def test_a_changed_limit_is_one_row_with_old_and_new():
    new = document()
    new["tiers"][1]["relief"]["max_months"] = 3
    new["cooldown_days"] = 60
    changes = changed_paths(document(), new)
    assert [(c.path, c.old, c.new) for c in changes] == [
        ("tiers[M2].relief.max_months", 6, 3),
        ("cooldown_days", 90, 60),
    ]
    row = changes[0]
    assert (row.tier, row.section, row.field) == ("M2", "relief", "max_months")
    assert (changes[1].tier, changes[1].section, changes[1].field) == (None, None, "cooldown_days")


def test_lists_are_compared_whole():
    new = document()
    new["tiers"][0]["installment"]["tenors"] = [3, 6]
    (change,) = changed_paths(document(), new)
    assert (change.path, change.old, change.new) == ("tiers[M1].installment.tenors", [3, 6, 12, 24], [3, 6])


def test_an_inserted_tier_is_new_rows_in_place_not_every_later_tier_changed():
    old = document()
    new = copy.deepcopy(old)
    inserted = copy.deepcopy(new["tiers"][0])
    inserted.update(name="M1b", min_dpd=15)
    new["tiers"][0]["max_dpd"] = 14
    new["tiers"].insert(1, inserted)
    rows = diff(old, new)
    changed = [r for r in rows if r.changed]
    assert {r.tier for r in changed} == {"M1", "M1b"}
    assert all(r.old is ABSENT for r in changed if r.tier == "M1b")
    paths = [r.path for r in rows]
    # The new tier's rows come right after M1's, before M2's.
    assert (
        paths.index("tiers[M1].personalised.max_balance")
        < paths.index("tiers[M1b].name")
        < paths.index("tiers[M2].name")
    )


def test_a_removed_tier_shows_its_old_values():
    old = document()
    new = copy.deepcopy(old)
    del new["tiers"][3]
    removed = [r for r in diff(old, new) if r.tier == "M4"]
    assert removed and all(r.new is ABSENT and r.changed for r in removed)


def test_a_renamed_tier_is_removed_and_added():
    policy = default_policy()
    renamed = replace(policy, tiers=(replace(policy.tiers[0], name="Early"), *policy.tiers[1:]))
    tiers = {r.tier for r in changed_paths(policy.to_dict(), renamed.to_dict())}
    assert tiers == {"M1", "Early"}
