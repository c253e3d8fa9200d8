"""Condition trees compiled once into Python predicates (inbound calls).

The semantics match :mod:`interaction.targeting.sql`, which compiles the same
tree into a Django ``Q`` for batch runs; the tests evaluate both on the same
rows. A missing or ``None`` value is "empty": it fails every comparison except
``!=``, ``not in`` and ``is empty``, as SQL does with Django's ``exclude``.
Text ``contains`` and ``startswith`` ignore case.
"""

from __future__ import annotations

import ast
import datetime
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .codegen import Namespace, call, compile_function, load, store
from .conditions import BOOL, DATE, DATETIME, NUMBER, TEXT, resolve_date

Values = Mapping[str, Any]
Predicate = Callable[[Values, datetime.date], bool]


def _always(values: Values, today: datetime.date) -> bool:
    return True


def compile_predicate(tree: Any, kinds: Mapping[str, str] | None = None) -> Predicate:
    """Compile ``tree`` (already validated) into ``predicate(values, today)``.

    ``kinds`` maps field names to their kind (from the condition schema) so that
    date values are compared as dates; other names compare as given.
    """
    if tree in (None, {}):
        return _always
    namespace = Namespace()
    test = condition_expression(tree, kinds or {}, namespace)
    return compile_function(
        "predicate", ("values", "today"), [ast.Return(test)], namespace
    )


def condition_expression(
    tree: Any, kinds: Mapping[str, str], namespace: Namespace
) -> ast.expr:
    """``tree`` as a boolean expression over ``values`` and ``today``."""
    if "all" in tree or "any" in tree:
        children = tree.get("all", tree.get("any"))
        if not children:
            return ast.Constant("all" in tree)
        parts = [condition_expression(child, kinds, namespace) for child in children]
        if len(parts) == 1:
            return parts[0]
        return ast.BoolOp(ast.And() if "all" in tree else ast.Or(), parts)
    if "not" in tree:
        inner = condition_expression(tree["not"], kinds, namespace)
        return ast.UnaryOp(ast.Not(), inner)
    return _comparison(
        tree["field"],
        tree["op"],
        tree.get("value"),
        kinds.get(tree["field"]),
        namespace,
    )


def _comparison(
    name: str, op: str, expected: Any, kind: str | None, namespace: Namespace
) -> ast.expr:
    local = namespace.local()
    actual = ast.NamedExpr(
        store(local),
        call(ast.Attribute(load("values"), "get", ast.Load()), ast.Constant(name)),
    )
    value = load(local)

    def test(left: ast.expr, operator: ast.cmpop, right: ast.expr) -> ast.Compare:
        return ast.Compare(left, [operator], [right])

    if op in ("is empty", "is not empty"):
        if op == "is empty":
            return ast.BoolOp(
                ast.Or(),
                [
                    test(actual, ast.Is(), ast.Constant(None)),
                    test(value, ast.Eq(), ast.Constant("")),
                ],
            )
        return ast.BoolOp(
            ast.And(),
            [
                test(actual, ast.IsNot(), ast.Constant(None)),
                test(value, ast.NotEq(), ast.Constant("")),
            ],
        )
    if op in ("contains", "startswith"):
        is_text = call(
            namespace.helper("isinstance", isinstance),
            actual,
            namespace.helper("str", str),
        )
        lowered = call(ast.Attribute(value, "lower", ast.Load()))
        needle = ast.Constant(str(expected).lower())
        if op == "contains":
            found: ast.expr = test(needle, ast.In(), lowered)
        else:
            found = call(ast.Attribute(lowered, "startswith", ast.Load()), needle)
        return ast.BoolOp(ast.And(), [is_text, found])
    if op in ("in", "not in"):
        members = namespace.constant(frozenset(expected))
        if kind in _HASHABLE_KINDS:
            return test(actual, ast.In() if op == "in" else ast.NotIn(), members)
        member = call(namespace.helper("_member", _member), actual, members)
        return member if op == "in" else ast.UnaryOp(ast.Not(), member)
    if kind in (DATE, DATETIME):
        if isinstance(expected, dict):
            resolved: ast.expr = call(
                namespace.helper("_resolve_date", resolve_date),
                namespace.constant(expected),
                ast.Constant(kind),
                load("today"),
            )
        else:
            resolved = namespace.constant(resolve_date(expected, kind, None))
        return call(
            namespace.helper("_compare_dates", _compare_dates),
            actual,
            resolved,
            ast.Constant(op),
            ast.Constant(kind == DATETIME),
        )
    operator = _OPERATORS[op]
    operand = namespace.constant(expected)
    if op == "!=":
        return ast.BoolOp(
            ast.Or(),
            [
                test(actual, ast.Is(), ast.Constant(None)),
                test(value, operator, operand),
            ],
        )
    if op == "=" or kind == NUMBER:
        # Numbers from the database always compare with a validated number.
        return ast.BoolOp(
            ast.And(),
            [
                test(actual, ast.IsNot(), ast.Constant(None)),
                test(value, operator, operand),
            ],
        )
    return call(
        namespace.helper("_compare", _compare), actual, operand, ast.Constant(op)
    )


#: Kinds of contact fields: their values come from the database, always hashable.
_HASHABLE_KINDS = (TEXT, NUMBER, BOOL, DATE, DATETIME)

_OPERATORS = {
    "=": ast.Eq(),
    "!=": ast.NotEq(),
    "<": ast.Lt(),
    "<=": ast.LtE(),
    ">": ast.Gt(),
    ">=": ast.GtE(),
}

_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _member(value: object, members: frozenset) -> bool:
    """``value in members``; a list or dict from the call context is in none."""
    try:
        return value in members
    except TypeError:
        return False


def _compare(actual: object, expected: object, op: str) -> bool:
    """A comparison of values of unknown types: incomparable types only differ."""
    if actual is None:
        return op == "!="
    try:
        return _COMPARATORS[op](actual, expected)
    except TypeError:
        return op == "!="


def _compare_dates(
    actual: object, expected: object, op: str, is_datetime: bool
) -> bool:
    if actual is None:
        return op == "!="
    if is_datetime and isinstance(actual, datetime.datetime) and actual.tzinfo is None:
        actual = actual.replace(tzinfo=datetime.UTC)
    return _COMPARATORS[op](actual, expected)
