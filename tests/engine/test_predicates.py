"""Compiled conditions (``interaction.engine.predicates``) over untrusted call
context values. That they select the same contacts as the SQL a condition
compiles to is checked against the database in ``tests/conditions/test_sql.py``.
"""

import builtins
import datetime

import pytest

from interaction.engine.predicates import compile_predicate

TODAY = datetime.date(2026, 6, 15)


# Call context values: any JSON, compared as given -------------------------------


@pytest.mark.parametrize(
    "tree, values, expected",
    [
        ({"field": "context.tags", "op": "in", "value": ["a"]}, ["a"], False),
        ({"field": "context.tags", "op": "not in", "value": ["a"]}, ["a"], True),
        ({"field": "context.tags", "op": "in", "value": ["a"]}, {"a": 1}, False),
        ({"field": "context.page", "op": "in", "value": ["home"]}, "home", True),
        ({"field": "context.basket", "op": ">", "value": 10}, "lots", False),
        ({"field": "context.basket", "op": "<=", "value": 10}, [1], False),
        ({"field": "context.basket", "op": "!=", "value": 10}, "lots", True),
        ({"field": "context.basket", "op": "=", "value": 10}, 10.0, True),
        ({"field": "context.basket", "op": ">", "value": 10}, 10.5, True),
        ({"field": "context.basket", "op": ">", "value": 10}, None, False),
        ({"field": "context.basket", "op": "!=", "value": 10}, None, True),
    ],
)
def test_context_values_of_any_type_never_break_a_condition(tree, values, expected):
    predicate = compile_predicate(tree, {})

    assert predicate({tree["field"]: values}, TODAY) is expected


def test_values_that_look_like_code_are_compared_as_text(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    text = "x') or __import__('os').system('false') or ('"
    predicate = compile_predicate(
        {"any": [{"field": "context.q", "op": "=", "value": text}]}, {}
    )

    assert predicate({"context.q": text}, TODAY) is True
    assert predicate({"context.q": "x"}, TODAY) is False
