"""Generic, strict conversion between policy dataclasses and JSON-ready data.

Driven by the dataclasses' type hints, so a new limit needs no serialisation code. The
types used by policies: bool, int, str, Decimal, StrEnum, None unions, tuple[X, ...],
frozenset[str] and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any, ClassVar, Protocol, TypeVar

__all__ = ["PolicyFormatError", "dump", "load"]


class _Dataclass(Protocol):
    """Any dataclass (what typeshed calls DataclassInstance; the domain imports stdlib only)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


T = TypeVar("T", bound=_Dataclass)


class PolicyFormatError(ValueError):
    """A policy document that cannot be read; `path` says where (e.g. tiers[2].name)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'policy'}: {problem}")
        self.path = path
        self.problem = problem


def dump(value: Any) -> Any:
    """A dataclass (or NamedTuple) tree as dicts, lists, strings, ints, bools and None."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple (PlanTerms)
        return {name: dump(item) for name, item in value._asdict().items()}
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        items = [dump(v) for v in value]
        # Tenor lists are sets in meaning; sorting gives one stored form per policy.
        return sorted(items) if all(isinstance(v, int) for v in value) else items
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):  # LevelRows, lists
        return [dump(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def load(tp: Any, data: Any, path: str) -> Any:
    """Build a value of type `tp` from JSON-ready `data`, refusing anything loose."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return load(inner, data, path)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):  # a dataclass, not an instance of one
        return _load_dataclass(tp, data, path)
    if origin is tuple:
        _expect(data, list, path, "a list")
        inner = typing.get_args(tp)[0]
        return tuple(load(inner, item, f"{path}[{i}]") for i, item in enumerate(data))
    if origin is frozenset:
        _expect(data, list, path, "a list")
        inner = typing.get_args(tp)[0]
        return frozenset(load(inner, item, f"{path}[{i}]") for i, item in enumerate(data))
    if tp is Decimal:
        # Strings only: a JSON float (0.1) is already inexact when it arrives.
        _expect(data, str, path, "a decimal string")
        try:
            number = Decimal(data)
        except InvalidOperation:
            raise PolicyFormatError(path, f"not a number: {data!r}") from None
        if not number.is_finite():
            raise PolicyFormatError(path, "must be finite")
        return number
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            raise PolicyFormatError(path, f"unknown value {data!r}") from None
    if tp is bool:
        _expect(data, bool, path, "true or false")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise PolicyFormatError(path, "must be a whole number")
        return data
    if tp is str:
        _expect(data, str, path, "a string")
        return data
    raise TypeError(f"unsupported policy field type {tp!r}")  # a programming error


def _expect(data: Any, kind: type, path: str, what: str) -> None:
    if not isinstance(data, kind):
        raise PolicyFormatError(path, f"must be {what}")


def _load_dataclass(cls: type[T], data: Any, path: str) -> T:
    _expect(data, dict, path, "an object")
    hints = _hints(cls)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        # A misspelt limit must not silently fall back to its default.
        raise PolicyFormatError(_join(path, unknown[0]), "unknown key")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = load(hints[f.name], data[f.name], _join(path, f.name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise PolicyFormatError(_join(path, f.name), "missing")
    return cls(**values)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
