"""Conditions as sentences, for the people who review them (SPEC §4).

``{"all": [{"field": "country", "op": "in", "value": ["FR", "BE"]},
{"field": "age", "op": ">=", "value": 18}]}`` reads "country is one of “FR”,
“BE” and age is at least 18". Approvers read these in the workflow preview
and the inspect view instead of JSON. A tree that is not a valid condition
(saved before the rules changed) is described as far as it goes; nothing in
it is trusted: the text is escaped where it is shown.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from ..engine.conditions import CONTEXT_PREFIX

OPERATOR_WORDS = {
    "=": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
    "in": "is one of",
    "not in": "is none of",
    "contains": "contains",
    "startswith": "starts with",
    "is empty": "is empty",
    "is not empty": "is not empty",
}

#: Ordering a date reads differently: ``signup_date >= {"today": -30}`` is
#: "on or after 30 days before today", not "at least 30 days before today"
#: (which reads as the opposite). The condition builder reads both (its
#: widget passes them to the page).
DATE_OPERATOR_WORDS = {
    "=": "is on",
    "!=": "is not on",
    "<": "is before",
    "<=": "is on or before",
    ">": "is after",
    ">=": "is on or after",
}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]|$)")

#: The longest description given (characters); a longer one is cut.
MAX_LENGTH = 2_000
#: Deeper groups are not described (saved trees are validated shallower).
_DEEPEST = 64


class FieldLabel(NamedTuple):
    """How a field is written: its label, and its choices' labels by value."""

    label: str
    choices: Mapping[Any, str]


def field_labels(model: Any) -> dict[str, FieldLabel]:
    """The labels of the targetable fields of the dimension ``model`` (``None``:
    none), as the condition builder lists them."""
    from .fields import targetable_fields
    from .widgets import builder_fields

    return {
        field["name"]: FieldLabel(
            str(field["label"]), {value: label for value, label in field["choices"]}
        )
        for field in builder_fields(model, targetable_fields(model), None)
    }


def describe_condition(
    tree: Any, fields: Mapping[str, FieldLabel] | None = None
) -> str:
    """``tree`` as a sentence; "" for no condition. With ``fields``
    (:func:`field_labels`), fields and choices read by their labels ("Loyalty
    tier is “Gold”", not "loyalty_tier is “gold”"); others by their names."""
    if tree in (None, {}, ""):
        return ""
    text = _node(tree, fields or {}, depth=1, top=True)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"


def _node(
    node: Any, fields: Mapping[str, FieldLabel], depth: int, top: bool = False
) -> str:
    if depth > _DEEPEST or not isinstance(node, dict):
        return _("(not a valid condition)")
    if "not" in node:
        return _("not (%(condition)s)") % {
            "condition": _node(node["not"], fields, depth + 1)
        }
    for key, joiner, empty in (
        ("all", _(" and "), _("always")),
        ("any", _(" or "), _("never")),
    ):
        if key in node:
            children = node[key] if isinstance(node[key], list) else []
            if not children:
                return empty
            parts = [_node(child, fields, depth + 1) for child in children]
            text = joiner.join(parts)
            return text if top or len(parts) == 1 else f"({text})"
    return _comparison(node, fields)


def _comparison(node: dict, fields: Mapping[str, FieldLabel]) -> str:
    name = node.get("field")
    op = node.get("op")
    if not isinstance(name, str) or op not in OPERATOR_WORDS:
        return _("(not a valid condition)")
    value = node.get("value")
    field = fields.get(name)
    if field is not None:
        name = field.label
        value = _choice_labels(value, field.choices)
    elif name.startswith(CONTEXT_PREFIX):
        name = _("the call's %(name)s") % {"name": name[len(CONTEXT_PREFIX) :]}
    words = (
        DATE_OPERATOR_WORDS.get(op, OPERATOR_WORDS[op])
        if _is_date(value)
        else OPERATOR_WORDS[op]
    )
    if op in ("is empty", "is not empty"):
        return f"{name} {words}"
    return f"{name} {words} {_value(value)}"


def _choice_labels(value: Any, choices: Mapping[Any, str]) -> Any:
    if isinstance(value, list):
        return [_choice_labels(item, choices) for item in value]
    try:
        return choices.get(value, value)
    except TypeError:  # unhashable: not a choice
        return value


def _is_date(value: Any) -> bool:
    """A relative date, or a date (and time) written as the builder writes them
    (``2026-12-01``, ``2026-12-01T10:00``)."""
    if isinstance(value, dict):
        return set(value) == {"today"}
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _value(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"today"}:
        days = value["today"]
        if not isinstance(days, int) or isinstance(days, bool):
            return str(value)
        if days == 0:
            return _("today")
        if days < 0:
            return _("%(days)d days before today") % {"days": -days}
        return _("%(days)d days from today") % {"days": days}
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, bool):
        return _("true") if value else _("false")
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)
