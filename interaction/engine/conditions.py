"""Condition trees (SPEC §4): their JSON format and their validation.

A condition is a JSON tree::

    {"all": [cond, ...]}      every sub-condition holds (an empty list is true)
    {"any": [cond, ...]}      at least one holds (an empty list is false)
    {"not": cond}             the sub-condition does not hold
    {"field": "age", "op": ">=", "value": 18}

Field names are the contact's fields (``country``, or ``company__name`` for a
related field one level deep), ``context.<name>`` for the call context, and, in
typology rules, ``offer.<name>`` for the offer. Date values are ISO dates or
``{"today": n}`` (today plus n days, n may be negative).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConditionError

TEXT, NUMBER, BOOL, DATE, DATETIME, ANY = (
    "text",
    "number",
    "bool",
    "date",
    "datetime",
    "any",
)

EMPTINESS_OPERATORS = ("is empty", "is not empty")
LIST_OPERATORS = ("in", "not in")
ORDER_OPERATORS = ("<", "<=", ">", ">=")
TEXT_OPERATORS = ("contains", "startswith")
EQUALITY_OPERATORS = ("=", "!=")
OPERATORS = (
    EQUALITY_OPERATORS + ORDER_OPERATORS + LIST_OPERATORS + TEXT_OPERATORS
) + EMPTINESS_OPERATORS

OPERATORS_BY_KIND = {
    TEXT: EQUALITY_OPERATORS + LIST_OPERATORS + TEXT_OPERATORS + EMPTINESS_OPERATORS,
    NUMBER: EQUALITY_OPERATORS + ORDER_OPERATORS + LIST_OPERATORS + EMPTINESS_OPERATORS,
    DATE: EQUALITY_OPERATORS + ORDER_OPERATORS + EMPTINESS_OPERATORS,
    DATETIME: EQUALITY_OPERATORS + ORDER_OPERATORS + EMPTINESS_OPERATORS,
    BOOL: EQUALITY_OPERATORS + EMPTINESS_OPERATORS,
    ANY: OPERATORS,
}

CONTEXT_PREFIX = "context."
OFFER_PREFIX = "offer."

#: The deepest nesting of groups a condition may have.
MAX_DEPTH = 32
#: The furthest a relative date ``{"today": n}`` may reach, in days (about 100
#: years): further dates overflow Python's dates when a call resolves them.
MAX_RELATIVE_DAYS = 36_500


@dataclass(frozen=True)
class FieldSpec:
    """What a condition may compare: a field's kind and, if any, its choices."""

    name: str
    kind: str
    choices: tuple = field(default=())


def resolve_date(value: Any, kind: str, today: datetime.date | None) -> datetime.date:
    """A condition's date value as a ``date`` or an aware ``datetime``.

    ``{"today": n}`` needs ``today``; ISO texts do not.
    """
    if isinstance(value, dict):
        if today is None:
            raise ValueError("A relative date needs today's date.")
        day = today + datetime.timedelta(days=value["today"])
        if kind == DATETIME:
            return datetime.datetime.combine(day, datetime.time.min, datetime.UTC)
        return day
    if kind == DATETIME:
        parsed = datetime.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return datetime.date.fromisoformat(value)


def _is_number(value: object) -> bool:
    """An int or a finite float (NaN and infinity compare as no number does)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object, kind: str) -> bool:
    if isinstance(value, dict):
        days = value.get("today")
        return (
            set(value) == {"today"}
            and isinstance(days, int)
            and not isinstance(days, bool)
            and abs(days) <= MAX_RELATIVE_DAYS
        )
    if not isinstance(value, str):
        return False
    try:
        if kind == DATE:
            datetime.date.fromisoformat(value)
        else:
            datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _value_matches(value: object, spec: FieldSpec) -> bool:
    if spec.kind == ANY:
        return value is None or isinstance(value, str | int | float | bool)
    if spec.kind == TEXT:
        return isinstance(value, str)
    if spec.kind == NUMBER:
        return _is_number(value)
    if spec.kind == BOOL:
        return isinstance(value, bool)
    return _is_date(value, spec.kind)


_RELATIVE = f'{{"today": n}} (n within ±{MAX_RELATIVE_DAYS})'
_KIND_DESCRIPTIONS = {
    TEXT: "a text",
    NUMBER: "a number",
    BOOL: "true or false",
    DATE: f'an ISO date ("2026-01-31") or {_RELATIVE}',
    DATETIME: f"an ISO date-time or {_RELATIVE}",
}


@dataclass
class ConditionSchema:
    """The names a condition may use, and whether context/offer names are allowed."""

    contact_fields: dict[str, FieldSpec]
    allow_context: bool = True
    offer_fields: dict[str, FieldSpec] | None = None
    dimension_label: str = "contact"

    def resolve(self, name: str) -> FieldSpec:
        if name.startswith(CONTEXT_PREFIX):
            if not self.allow_context:
                raise ConditionError(
                    f"“{name}”: call context fields cannot be used here."
                )
            if not name[len(CONTEXT_PREFIX) :]:
                raise ConditionError("“context.” needs a field name after the dot.")
            return FieldSpec(name, ANY)
        if name.startswith(OFFER_PREFIX):
            if self.offer_fields is None:
                raise ConditionError(f"“{name}”: offer fields cannot be used here.")
            spec = self.offer_fields.get(name[len(OFFER_PREFIX) :])
            if spec is None:
                known = ", ".join(sorted(self.offer_fields))
                raise ConditionError(
                    f"Unknown offer field “{name}”. Known offer fields: {known}."
                )
            return spec
        spec = self.contact_fields.get(name)
        if spec is None:
            if not self.contact_fields:
                raise ConditionError(
                    f"Unknown field “{name}”: this environment is anonymous, only "
                    "“context.…” fields can be used."
                )
            known = ", ".join(sorted(self.contact_fields))
            raise ConditionError(
                f"Unknown field “{name}” on {self.dimension_label}. "
                f"Known fields: {known}."
            )
        return spec


def condition_names(tree: object) -> set[str]:
    """The field names ``tree`` compares, valid or not (a tree saved before
    the rules changed, or written without validation)."""
    found: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get("field"), str):
                found.add(node["field"])
            pending.extend(node.get(key) for key in ("all", "any", "not"))
    return found


def validate_condition(tree: object, schema: ConditionSchema) -> None:
    """Raise ``ConditionError`` naming the first wrong part of ``tree``.

    ``None`` and ``{}`` mean "no condition" and are valid.
    """
    if tree in (None, {}):
        return
    _validate_node(tree, schema, path="condition")


def _validate_node(
    node: object, schema: ConditionSchema, path: str, depth: int = 1
) -> None:
    if depth > MAX_DEPTH:
        raise ConditionError(
            f"{path}: groups are nested deeper than {MAX_DEPTH} levels."
        )
    if not isinstance(node, dict):
        raise ConditionError(
            f"{path}: expected an object such as "
            '{"field": …, "op": …, "value": …} or {"all": [...]}.'
        )
    groups = {"all", "any", "not"} & node.keys()
    if groups:
        if len(node) != 1:
            raise ConditionError(
                f"{path}: a group has exactly one key, “all”, “any” or “not”."
            )
        key = next(iter(groups))
        if key == "not":
            _validate_node(node["not"], schema, f"{path}.not", depth + 1)
            return
        children = node[key]
        if not isinstance(children, list):
            raise ConditionError(f"{path}.{key}: expected a list of conditions.")
        for index, child in enumerate(children):
            _validate_node(child, schema, f"{path}.{key}[{index}]", depth + 1)
        return
    _validate_comparison(node, schema, path)


def _validate_comparison(node: dict, schema: ConditionSchema, path: str) -> None:
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys or "field" not in node or "op" not in node:
        raise ConditionError(
            f"{path}: a comparison has the keys “field”, “op” and “value”."
        )
    name, op = node["field"], node["op"]
    if not isinstance(name, str):
        raise ConditionError(f"{path}: “field” must be a field name.")
    spec = schema.resolve(name)
    if op not in OPERATORS:
        raise ConditionError(
            f"“{name}”: unknown operator “{op}”. Operators: {', '.join(OPERATORS)}."
        )
    allowed = OPERATORS_BY_KIND[spec.kind]
    if op not in allowed:
        raise ConditionError(
            f"“{name}”: operator “{op}” does not apply to "
            f"{_KIND_DESCRIPTIONS[spec.kind]} field. Use one of: {', '.join(allowed)}."
        )
    if op in EMPTINESS_OPERATORS:
        if node.get("value") is not None:
            raise ConditionError(f"“{name}”: “{op}” takes no value.")
        return
    if "value" not in node:
        raise ConditionError(f"“{name}”: “{op}” needs a value.")
    value = node["value"]
    values = value if op in LIST_OPERATORS else [value]
    if op in LIST_OPERATORS and not isinstance(value, list):
        raise ConditionError(f"“{name}”: “{op}” needs a list of values.")
    if op in TEXT_OPERATORS and spec.kind == ANY and not isinstance(value, str):
        raise ConditionError(f"“{name}”: “{op}” needs a text value.")
    for item in values:
        if not _value_matches(item, spec):
            description = _KIND_DESCRIPTIONS.get(spec.kind, "a plain value")
            raise ConditionError(f"“{name}”: the value {item!r} is not {description}.")
        if spec.choices and op not in TEXT_OPERATORS and item not in spec.choices:
            choices = ", ".join(repr(choice) for choice in spec.choices)
            raise ConditionError(
                f"“{name}”: {item!r} is not one of its choices ({choices})."
            )
