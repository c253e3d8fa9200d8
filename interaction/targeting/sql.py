"""Condition trees compiled into a Django ``Q`` over the dimension (batch runs).

Same semantics as :mod:`interaction.engine.predicates` (the tests evaluate both
on the same rows). Call-context names have no meaning in SQL: batch runs have
no call, so they are refused.
"""

import datetime

from django.db.models import Q

from ..engine.conditions import CONTEXT_PREFIX, DATE, DATETIME, TEXT, resolve_date

_LOOKUPS = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def condition_q(tree, kinds: dict[str, str], today: datetime.date) -> Q:
    """Compile ``tree`` (already validated) into a ``Q`` on the contact model."""
    if tree in (None, {}):
        return Q()
    return _compile(tree, kinds, today)


def _compile(node: dict, kinds, today) -> Q:
    if "all" in node:
        combined = Q()
        for child in node["all"]:
            combined &= _compile(child, kinds, today)
        return combined
    if "any" in node:
        if not node["any"]:
            return Q(pk__in=[])
        combined = Q(pk__in=[])
        for child in node["any"]:
            combined |= _compile(child, kinds, today)
        return combined
    if "not" in node:
        return ~_compile(node["not"], kinds, today)
    return _comparison(node["field"], node["op"], node.get("value"), kinds, today)


def _comparison(name: str, op: str, value, kinds, today) -> Q:
    if name.startswith(CONTEXT_PREFIX):
        raise ValueError(f"“{name}”: call context fields have no value in batch runs.")
    kind = kinds.get(name)
    if op in ("is empty", "is not empty"):
        empty = Q(**{f"{name}__isnull": True})
        if kind == TEXT:
            empty |= Q(**{name: ""})
        return empty if op == "is empty" else ~empty
    if op == "contains":
        return Q(**{f"{name}__icontains": value})
    if op == "startswith":
        return Q(**{f"{name}__istartswith": value})
    if op == "in":
        return Q(**{f"{name}__in": value})
    if op == "not in":
        return ~Q(**{f"{name}__in": value})
    if kind in (DATE, DATETIME):
        value = resolve_date(value, kind, today)
    if op == "!=":
        return ~Q(**{name: value})
    return Q(**{f"{name}__{_LOOKUPS[op]}": value})
