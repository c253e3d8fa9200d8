"""The Python predicate and the SQL ``Q`` of a condition select the same contacts."""

import datetime
import random

import pytest

from interaction.engine.conditions import ConditionSchema, validate_condition
from interaction.engine.predicates import compile_predicate
from interaction.targeting.fields import model_fields
from interaction.targeting.sql import condition_q
from tests.testapp.models import Contact

TODAY = datetime.date(2026, 6, 15)
FIELDS = (
    "email",
    "first_name",
    "last_name",
    "age",
    "country",
    "loyalty_tier",
    "signup_date",
)


@pytest.fixture
def contacts(db):
    rng = random.Random(7)
    rows = [
        Contact(
            email=f"person{i}@example.com",
            first_name=rng.choice(["Ann", "anne", "Bob", "Éloïse", "Zoé"]),
            last_name=rng.choice(["Martin", "martinez", "Durand", ""]),
            age=rng.randint(16, 90),
            country=rng.choice(["FR", "BE", "DE", "US"]),
            loyalty_tier=rng.choice(["none", "silver", "gold", "platinum"]),
            signup_date=TODAY - datetime.timedelta(days=rng.randint(0, 400)),
        )
        for i in range(120)
    ]
    return Contact.objects.bulk_create(rows)


def _values(contact):
    return {name: getattr(contact, name) for name in FIELDS}


def _selected_both_ways(tree, contacts):
    kinds = {name: spec.kind for name, spec in model_fields(Contact).items()}
    predicate = compile_predicate(tree, kinds)
    in_python = {c.pk for c in contacts if predicate(_values(c), TODAY)}
    in_sql = set(
        Contact.objects.filter(condition_q(tree, kinds, TODAY)).values_list(
            "pk", flat=True
        )
    )
    return in_python, in_sql


EXAMPLES = [
    {"field": "age", "op": ">=", "value": 18},
    {"field": "age", "op": "<", "value": 30},
    {"field": "age", "op": "!=", "value": 40},
    {"field": "age", "op": "in", "value": [20, 30, 40]},
    {"field": "country", "op": "not in", "value": ["FR", "BE"]},
    {"field": "loyalty_tier", "op": "=", "value": "gold"},
    {"field": "first_name", "op": "contains", "value": "ann"},
    {"field": "last_name", "op": "startswith", "value": "MART"},
    {"field": "last_name", "op": "is empty"},
    {"field": "last_name", "op": "is not empty"},
    {"field": "signup_date", "op": ">=", "value": {"today": -30}},
    {"field": "signup_date", "op": "<", "value": "2026-01-01"},
    {"all": []},
    {"any": []},
    {"not": {"any": [{"field": "country", "op": "=", "value": "US"}]}},
    {
        "all": [
            {"field": "country", "op": "in", "value": ["FR", "BE"]},
            {
                "any": [
                    {"field": "age", "op": ">", "value": 60},
                    {"not": {"field": "loyalty_tier", "op": "=", "value": "none"}},
                ]
            },
        ]
    },
]


@pytest.mark.parametrize("tree", EXAMPLES)
def test_predicate_and_q_select_the_same_contacts(tree, contacts):
    validate_condition(tree, _schema())
    in_python, in_sql = _selected_both_ways(tree, contacts)
    assert in_python == in_sql


def test_examples_are_selective(contacts):
    """Guards the comparison above against trees that select everyone or no one."""
    sizes = {len(_selected_both_ways(tree, contacts)[0]) for tree in EXAMPLES[:12]}
    assert len(sizes) > 5
    assert any(0 < size < len(contacts) for size in sizes)


def _schema():

    return ConditionSchema(contact_fields=model_fields(Contact), allow_context=False)


def _random_comparison(rng):
    return rng.choice(
        [
            {
                "field": "age",
                "op": rng.choice(["=", "!=", "<", "<=", ">", ">="]),
                "value": rng.randint(16, 90),
            },
            {
                "field": "country",
                "op": rng.choice(["in", "not in"]),
                "value": rng.sample(["FR", "BE", "DE", "US"], 2),
            },
            {
                "field": "loyalty_tier",
                "op": rng.choice(["=", "!="]),
                "value": rng.choice(["none", "gold"]),
            },
            {
                "field": "first_name",
                "op": rng.choice(["contains", "startswith"]),
                "value": rng.choice(["an", "B", "z"]),
            },
            {"field": "last_name", "op": rng.choice(["is empty", "is not empty"])},
            {
                "field": "signup_date",
                "op": rng.choice(["<", ">="]),
                "value": {"today": -rng.randint(0, 400)},
            },
        ]
    )


def _random_tree(rng, depth=0):
    if depth >= 3 or rng.random() < 0.4:
        return _random_comparison(rng)
    kind = rng.choice(["all", "any", "not"])
    if kind == "not":
        return {"not": _random_tree(rng, depth + 1)}
    return {kind: [_random_tree(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


def test_random_trees_agree(contacts):
    rng = random.Random(2026)
    for _ in range(150):
        tree = _random_tree(rng)
        validate_condition(tree, _schema())
        in_python, in_sql = _selected_both_ways(tree, contacts)
        assert in_python == in_sql, tree
