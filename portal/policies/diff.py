"""Field-level difference between two policy documents (``OfferPolicy.to_dict()`` data).

A document is flattened to leaf paths such as ``tiers[M2].relief.max_months``; tiers are
named by their name rather than their position, so inserting a tier shows up as one new
tier, not as every later tier changed. Lists (tenors, blocking flags) are compared whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ABSENT", "DiffRow", "changed_paths", "diff", "flatten"]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # the path does not exist on that side (a tier added or removed)


@dataclass(frozen=True)
class DiffRow:
    path: str
    old: Any
    new: Any

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def tier(self) -> str | None:
        """The tier name for paths inside a tier, else None."""
        if self.path.startswith("tiers["):
            return self.path[len("tiers[") : self.path.index("]")]
        return None

    @property
    def section(self) -> str | None:
        """The plan type (installment, relief, settlement, personalised) or None."""
        parts = self._inner().split(".")
        return parts[0] if len(parts) > 1 else None

    @property
    def field(self) -> str:
        """The last name in the path: the dataclass field (key of FIELD_LABELS)."""
        return self._inner().split(".")[-1]

    def _inner(self) -> str:
        return self.path[self.path.index("].") + 2 :] if self.tier is not None else self.path


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf paths → values, in document order."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        elif key == "tiers" and isinstance(value, list):
            for tier in value:
                flat.update(flatten(tier, f"tiers[{tier.get('name', '')}]."))
        else:
            flat[path] = value
    return flat


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[DiffRow]:
    """Every leaf path of either document, old order with new paths slotted in after
    their predecessor in the new document; ``changed`` marks the differences."""
    before, after = flatten(old), flatten(new)
    order = list(before)
    anchor = -1
    for path in after:
        if path in before:
            anchor = order.index(path)
        else:
            anchor += 1
            order.insert(anchor, path)
    return [DiffRow(path, before.get(path, ABSENT), after.get(path, ABSENT)) for path in order]


def changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[DiffRow]:
    return [row for row in diff(old, new) if row.changed]
