"""Admin forms. The policy editor is generated from the domain dataclasses' fields.

One input per leaf field of ``OfferPolicy`` (tiers × plan types × limits), named after its
path (``tiers[1].relief.max_months`` → ``tiers-1-relief-max_months``) so that a
``PolicyProblem`` lands next to its input. A new limit in the domain needs a label in
``messages.FIELDS`` and nothing here.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from portal.domain.policy import OfferPolicy, PolicyFormatError, Tier
from portal.domain.policy_io import dump
from portal.domain.policy_validation import PolicyProblem
from portal.forms import PortalForm
from portal.inputs import InputError, parse_decimal
from portal.policies.messages import PRICING, field_info, kind_hint, parse_message, problem_message

__all__ = [
    "ActionForm",
    "ApproveForm",
    "EditorForm",
    "NewDraftForm",
    "RejectForm",
    "Spec",
    "SubmitForm",
    "editor_form",
    "read_policy",
    "show_problems",
]


@dataclass(frozen=True)
class Spec:
    """One input of the editor."""

    name: str  # form field name
    path: str  # path in the policy document, as PolicyProblem.field names it
    field: str  # dataclass field name (key of messages.FIELDS)
    section: str | None  # plan type inside a tier, else None
    tier: int | None  # tier index, else None
    type: Any  # the type hint without None
    optional: bool  # the hint allows None (an empty input)

    @property
    def kind(self) -> str:
        return field_info(self.field, self.section)[1]


def _unwrap(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return inner, True
    return tp, False


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _walk(cls: type, path: str, section: str | None, tier: int | None) -> list[Spec]:
    specs = []
    for f in dataclasses.fields(cls):
        tp, optional = _unwrap(_hints(cls)[f.name])
        child = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(tp):
            specs += _walk(tp, child, f.name, tier)  # type: ignore[arg-type]
        elif f.name not in ("tiers", "currency"):  # tiers expand below; the currency is the version's
            specs.append(Spec(name_for(child), child, f.name, section, tier, tp, optional))
    return specs


def name_for(path: str) -> str:
    """Policy path → form field name: ``tiers[1].relief.max_months`` → ``tiers-1-relief-max_months``."""
    return re.sub(r"\[(\d+)\]", r"-\1", path).replace(".", "-")


def specs(tier_count: int) -> list[Spec]:
    """Every input: the policy's own limits, then each tier's fields."""
    found = _walk(OfferPolicy, "", None, None)
    for i in range(tier_count):
        found += _walk(Tier, f"tiers[{i}]", None, i)
    return found


# --- values: document ↔ text ------------------------------------------------------------


def as_text(value: Any) -> Any:
    """A document value (``to_dict`` output) as the input shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _leaf(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]
    return value


def document_data(document: dict[str, Any]) -> dict[str, Any]:
    """Initial form data from a stored document."""
    return {s.name: as_text(_leaf(document, s.path)) for s in specs(len(document["tiers"]))}


def new_tier_data(index: int) -> dict[str, Any]:
    """Inputs of a tier added at ``index``: no name or range yet, every limit at its
    restrictive default (plan types not offered)."""
    document = {"tiers": [{}] * index + [dump(Tier(name="", min_dpd=0, max_dpd=None))]}
    data = {s.name: as_text(_leaf(document, s.path)) for s in specs(index + 1) if s.tier == index}
    data[name_for(f"tiers[{index}].min_dpd")] = ""
    return data


class _UnreadableError(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def parse(spec: Spec, raw: Any) -> Any:
    """Text from the form → the JSON-ready value ``OfferPolicy.from_dict`` reads."""
    if spec.type is bool:
        return bool(raw)
    text = (raw or "").strip() if isinstance(raw, str) else raw
    if text in ("", None):
        if spec.optional:
            return None
        if typing.get_origin(spec.type) in (tuple, frozenset):
            return []
        raise _UnreadableError("required")
    if spec.type is int:
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise _UnreadableError("whole")
        return int(text)
    if spec.type is Decimal:
        try:
            number = parse_decimal(text.replace(",", "").replace("%", ""))
        except InputError:
            raise _UnreadableError("number") from None
        return str(number)
    if isinstance(spec.type, type) and issubclass(spec.type, Enum):
        if text not in {e.value for e in spec.type}:
            raise _UnreadableError("choice")
        return text
    origin = typing.get_origin(spec.type)
    items = [item.strip() for item in re.split(r"[,，\s]+", text) if item.strip()]
    if origin is tuple:
        if not all(re.fullmatch(r"[+-]?\d{1,9}", item) for item in items):
            raise _UnreadableError("whole_list")
        return [int(item) for item in items]
    if origin is frozenset:
        return sorted(set(items))
    return text


def _nest(values: dict[str, Any], currency: str, tiers: list[int]) -> dict[str, Any]:
    """Flat path → value pairs into the document's shape, keeping only ``tiers``."""
    document: dict[str, Any] = {"currency": currency, "tiers": [{} for _ in tiers]}
    position = {index: n for n, index in enumerate(tiers)}
    for path, value in values.items():
        target = document
        parts = path.split(".")
        head = re.fullmatch(r"tiers\[(\d+)\]", parts[0])
        if head:
            index = int(head.group(1))
            if index not in position:
                continue
            target, parts = document["tiers"][position[index]], parts[1:]
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return document


# --- the editor form ----------------------------------------------------------------------


class EditorForm(PortalForm):
    """Base of the generated editor; fields are added per tier count by ``editor_form``."""

    tier_count = HiddenField()
    general_errors: list[str]
    spec_list: list[Spec]


def _input(spec: Spec, currency: str) -> Any:
    label, kind = field_info(spec.field, spec.section)
    hint = kind_hint(kind, currency) or ""
    if spec.type is bool:
        return BooleanField(label, description=hint)
    if isinstance(spec.type, type) and issubclass(spec.type, Enum):
        return SelectField(
            label,
            choices=[SelectChoice(e.value, PRICING.get(e.value, e.value)) for e in spec.type],
            description=hint,
            validate_choice=False,
        )
    return StringField(
        label,
        description=hint,
        render_kw={"inputmode": "decimal"}
        if kind in ("money", "fraction", "monthly_rate", "annual_rate")
        else ({"inputmode": "numeric"} if kind in ("days", "hours", "months", "count") else {}),
    )


def editor_form(
    tier_count: int, currency: str, *, formdata: Any = None, data: dict[str, Any] | None = None
) -> EditorForm:
    """An editor for a policy with ``tier_count`` tiers (bound to ``formdata`` on POST)."""
    found = specs(tier_count)
    attrs: dict[str, Any] = {s.name: _input(s, currency) for s in found}
    for i in range(tier_count):
        attrs[f"tiers-{i}-remove"] = BooleanField(_l("Remove this tier when saving"))
    cls = type("GeneratedEditorForm", (EditorForm,), attrs)
    form = cls(formdata=formdata, data=data)
    form.tier_count.data = str(tier_count)  # also when a tier was just added to the posted ones
    form.spec_list = found
    form.general_errors = []
    return form


def read_policy(form: EditorForm, currency: str) -> tuple[OfferPolicy | None, list[int]]:
    """Read the editor into an OfferPolicy, or put reading errors on the fields (None).

    Returns the policy and the form's tier indexes kept (in order), so that a problem
    about the policy's ``tiers[k]`` can be shown on form tier ``kept[k]``.
    """
    tier_count = int(form.tier_count.data or 0)
    kept = [i for i in range(tier_count) if not form[f"tiers-{i}-remove"].data]
    values: dict[str, Any] = {}
    failed = False
    for spec in form.spec_list:
        if spec.tier is not None and spec.tier not in kept:
            continue
        try:
            values[spec.path] = parse(spec, form[spec.name].data)
        except _UnreadableError as bad:
            add_error(form, spec.name, parse_message(bad.code))
            failed = True
    if failed:
        return None, kept
    try:
        return OfferPolicy.from_dict(_nest(values, currency, kept)), kept
    except PolicyFormatError as error:  # a programming error between parse() and the loader
        form.general_errors.append(str(error))
        return None, kept


def add_error(form: EditorForm, name: str, message: str) -> None:
    field = form[name]
    field.errors = [*field.errors, message]


def show_problems(form: EditorForm, problems: list[PolicyProblem], kept: list[int], tier_names: list[str]) -> None:
    """Put each validation problem next to its input (or at the top when it has none)."""
    for problem in problems:
        message = problem_message(problem, tier_names)
        path = re.sub(r"(\.tenors|\.blocking_flags)\[\d+\]$", r"\1", problem.field)
        match = re.match(r"tiers\[(\d+)\](.*)", path)
        if match:
            path = f"tiers[{kept[int(match.group(1))]}]{match.group(2)}"
        name = name_for(path)
        if name in form and not path.endswith("]"):
            add_error(form, name, message)
        else:
            form.general_errors.append(message)


# --- workflow forms -----------------------------------------------------------------------


class NewDraftForm(PortalForm):
    currency = HiddenField(validators=[InputRequired(), Length(min=3, max=3)])


class SubmitForm(PortalForm):
    comment = TextAreaField(
        _l("Note for the approver: what changes and why"), validators=[Optional(), Length(max=2000)]
    )


class ApproveForm(PortalForm):
    # workflow.review_digest of the version the page shows; set by the view, never typed.
    reviewed = HiddenField(validators=[InputRequired(), Regexp("^[0-9a-f]{64}$")])
    effective_on = DateField(_l("Effective from (date, your time zone; empty: now)"), validators=[Optional()])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])


class RejectForm(PortalForm):
    reason = TextAreaField(_l("Why you reject it"), validators=[Optional(), Length(max=2000)])


class ActionForm(PortalForm):
    """A bare POST (withdraw): only CSRF."""
