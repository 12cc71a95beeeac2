"""Champion/challenger experiments as data: the design, its arms, and who is in which arm.

An experiment belongs to one currency. Its first arm (position 0) is the champion, the
currency's active policy version when the experiment starts; every other arm is a
challenger: a policy version approved to run as one (``PolicyState.CHALLENGER``). At most
one experiment per currency runs at a time (a partial unique index).

States: pending (start proposed) → running → stopped; or pending → rejected.
While running, a stop or a promotion may be proposed (``proposed_action``); a different
policy admin approves or rejects it (maker-checker, portal.experiments.service).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import Rate, UTCDateTime, sql_values, utcnow
from portal.extensions import Model


class ExperimentState(StrEnum):
    PENDING = "pending"  # start proposed, waiting for a second admin
    RUNNING = "running"
    STOPPED = "stopped"
    REJECTED = "rejected"


class ExperimentProposal(StrEnum):
    """A change proposed, waiting for a second admin."""

    START = "start"
    STOP = "stop"
    PROMOTE = "promote"


class Metric(StrEnum):
    """What an arm is judged by, per assigned account (intention to treat).

    plan_accepted     a plan (not a personalised one) accepted on or after assignment
    kept_to_cycle_3   such a plan with its third installment paid in full
    plan_broken       such a plan broken
    opted_out         opted out of collection messages since assignment (by the cardholder,
                      or a consent flag set at the care desk)
    dispute_raised    a dispute flag set on the account since assignment (disputing the
                      debt or complaining: the closest record of a complaint kept)
    hardship_requested  a plan request sent for the bank's approval since assignment (each
                      carries the cardholder's reason; the Results pages count the same)

    The last four are guardrails: harms, lower is better.
    """

    PLAN_ACCEPTED = "plan_accepted"
    KEPT_TO_CYCLE_3 = "kept_to_cycle_3"
    PLAN_BROKEN = "plan_broken"
    OPTED_OUT = "opted_out"
    DISPUTE_RAISED = "dispute_raised"
    HARDSHIP_REQUESTED = "hardship_requested"


PRIMARY_METRICS = (Metric.PLAN_ACCEPTED, Metric.KEPT_TO_CYCLE_3)
GUARDRAIL_METRICS = (Metric.PLAN_BROKEN, Metric.OPTED_OUT, Metric.DISPUTE_RAISED, Metric.HARDSHIP_REQUESTED)


class Exposure(StrEnum):
    """Where an account first met the experiment (and was assigned)."""

    OFFERS_VIEWED = "offers_viewed"
    LINK_SENT = "link_sent"


class Experiment(Model):
    __tablename__ = "experiments"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_values(ExperimentState)})", name="state_known"),
        CheckConstraint(
            f"proposed_action IS NULL OR proposed_action IN ({sql_values(ExperimentProposal)})",
            name="proposal_known",
        ),
        CheckConstraint(f"primary_metric IN ({sql_values(PRIMARY_METRICS)})", name="metric_known"),
        # Only signs: SQLite stores rates as scaled integers (db_types.ExactDecimal), so an
        # upper bound of 1 would mean different things on the two databases; the service
        # checks the bounds.
        CheckConstraint("alpha > 0 AND power > 0 AND baseline_rate > 0 AND mde > 0", name="design_in_range"),
        # Maker-checker, also at the database: nobody approves their own proposal.
        CheckConstraint("approver IS NULL OR approver <> proposed_by", name="maker_is_not_checker"),
        Index(
            "uq_experiments_one_running",
            "currency",
            unique=True,
            sqlite_where=text(f"state = '{ExperimentState.RUNNING.value}'"),
            postgresql_where=text(f"state = '{ExperimentState.RUNNING.value}'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), default=ExperimentState.PENDING)
    # The design, stated before it starts.
    primary_metric: Mapped[str] = mapped_column(String(32))
    guardrails: Mapped[list[str]] = mapped_column(JSON, default=list)
    baseline_rate: Mapped[Decimal] = mapped_column(Rate())  # the champion's expected rate
    mde: Mapped[Decimal] = mapped_column(Rate())  # minimum detectable effect, absolute
    alpha: Mapped[Decimal] = mapped_column(Rate())
    power: Mapped[Decimal] = mapped_column(Rate())
    planned_n: Mapped[int] = mapped_column(Integer)  # accounts the design requires, all arms
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The open proposal: start (state pending), or stop/promote (state running). The
    # approver is cleared with each new proposal (and the CHECK holds on the open one).
    proposed_action: Mapped[str | None] = mapped_column(String(16))
    proposed_arm_id: Mapped[int | None] = mapped_column(Integer)  # an arm of this experiment (no FK: a cycle)
    proposed_by: Mapped[str | None] = mapped_column(String(120))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    proposal_comment: Mapped[str | None] = mapped_column(Text)
    approver: Mapped[str | None] = mapped_column(String(120))  # of the last decided proposal
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    promoted_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"))

    arms: Mapped[list[ExperimentArm]] = relationship(
        back_populates="experiment",
        order_by="ExperimentArm.position",
        foreign_keys="ExperimentArm.experiment_id",
    )


class ExperimentArm(Model):
    __tablename__ = "experiment_arms"
    __table_args__ = (
        UniqueConstraint("experiment_id", "position", name="uq_experiment_arms_position"),
        UniqueConstraint("experiment_id", "policy_version_id", name="uq_experiment_arms_version"),
        CheckConstraint("share > 0", name="share_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0: the champion
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    share: Mapped[Decimal] = mapped_column(Rate())

    experiment: Mapped[Experiment] = relationship(back_populates="arms", foreign_keys=[experiment_id])


class ExperimentAssignment(Model):
    """One account's arm in one experiment, made at first exposure and never changed."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "account_id", name="uq_experiment_assignments_account"),
        CheckConstraint(f"exposure IN ({sql_values(Exposure)})", name="exposure_known"),
        Index("ix_experiment_assignments_arm", "arm_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("card_accounts.id"), index=True)
    arm_id: Mapped[int] = mapped_column(ForeignKey("experiment_arms.id"))
    exposure: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def design_summary(experiment: Experiment) -> dict[str, Any]:
    """The stated design as plain values (audit records, the review digest)."""
    return {
        "name": experiment.name,
        "currency": experiment.currency,
        "primary_metric": experiment.primary_metric,
        "guardrails": list(experiment.guardrails or []),
        "baseline_rate": str(experiment.baseline_rate),
        "mde": str(experiment.mde),
        "alpha": str(experiment.alpha),
        "power": str(experiment.power),
        "planned_n": experiment.planned_n,
        "arms": [{"version": arm.policy_version_id, "share": str(arm.share)} for arm in experiment.arms],
    }
