"""Condition trees compiled once into Python predicates (inbound calls).

The semantics match :mod:`interaction.conditions_sql`, which compiles the same
tree into a Django ``Q`` for batch runs; the tests evaluate both on the same
rows. A missing or ``None`` value is "empty": it fails every comparison except
``!=``, ``not in`` and ``is empty``, as SQL does with Django's ``exclude``.
Text ``contains`` and ``startswith`` ignore case.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from ..conditions import DATE, DATETIME

Values = Mapping[str, Any]
Predicate = Callable[[Values, datetime.date], bool]


def _always(values: Values, today: datetime.date) -> bool:
    return True


def resolve_date(value, kind: str, today: datetime.date):
    """A condition's date value as a ``date`` or an aware ``datetime``."""
    if isinstance(value, dict):
        day = today + datetime.timedelta(days=value["today"])
        if kind == DATETIME:
            return datetime.datetime.combine(day, datetime.time.min, datetime.UTC)
        return day
    if kind == DATETIME:
        parsed = datetime.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return datetime.date.fromisoformat(value)


def _is_empty(value) -> bool:
    return value is None or value == ""


def compile_predicate(tree, kinds: Mapping[str, str] | None = None) -> Predicate:
    """Compile ``tree`` (already validated) into ``predicate(values, today)``.

    ``kinds`` maps field names to their kind (from the condition schema) so that
    date values are compared as dates; other names compare as given.
    """
    if tree in (None, {}):
        return _always
    return _compile(tree, kinds or {})


def _compile(node: dict, kinds: Mapping[str, str]) -> Predicate:
    if "all" in node:
        parts = [_compile(child, kinds) for child in node["all"]]
        return lambda values, today: all(part(values, today) for part in parts)
    if "any" in node:
        parts = [_compile(child, kinds) for child in node["any"]]
        return lambda values, today: any(part(values, today) for part in parts)
    if "not" in node:
        inner = _compile(node["not"], kinds)
        return lambda values, today: not inner(values, today)
    return _comparison(node["field"], node["op"], node.get("value"), kinds)


def _comparison(name: str, op: str, expected, kinds) -> Predicate:
    kind = kinds.get(name)
    if op == "is empty":
        return lambda values, today: _is_empty(values.get(name))
    if op == "is not empty":
        return lambda values, today: not _is_empty(values.get(name))
    if op in ("contains", "startswith"):
        needle = str(expected).lower()
        if op == "contains":
            return lambda values, today: (
                isinstance(values.get(name), str) and needle in values[name].lower()
            )
        return lambda values, today: (
            isinstance(values.get(name), str)
            and values[name].lower().startswith(needle)
        )
    if op in ("in", "not in"):
        members = set(expected)
        if op == "in":
            return lambda values, today: values.get(name) in members
        return lambda values, today: values.get(name) not in members

    compare = _COMPARATORS[op]
    if kind in (DATE, DATETIME):

        def dated(values: Values, today: datetime.date) -> bool:
            actual = values.get(name)
            if actual is None:
                return op == "!="
            if kind == DATETIME and isinstance(actual, datetime.datetime):
                if actual.tzinfo is None:
                    actual = actual.replace(tzinfo=datetime.UTC)
            return compare(actual, resolve_date(expected, kind, today))

        return dated

    def plain(values: Values, today: datetime.date) -> bool:
        actual = values.get(name)
        if actual is None:
            return op == "!="
        try:
            return compare(actual, expected)
        except TypeError:
            return op == "!="

    return plain


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
