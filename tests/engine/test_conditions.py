"""Condition trees (SPEC §4): what validates, and what an editor is told otherwise.

The schemas are the ones environments build: ``CONTACT_FIELDS`` are the fields
of the tests' contact dimension (email, first_name, last_name, age, country,
loyalty_tier, signup_date, id, pk), an anonymous environment has none
(``tests/conditions/test_fields.py`` checks both against the models).
"""

import pytest

from interaction.engine.conditions import (
    OPERATORS,
    ConditionSchema,
    validate_condition,
)
from interaction.engine.errors import ConditionError
from tests.engine.catalogue import CONTACT_FIELDS, OFFER_FIELDS


def cmp(field, op, value=None):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


@pytest.fixture
def schema():
    """Target filters: contact fields and call context."""
    return ConditionSchema(contact_fields=CONTACT_FIELDS)


@pytest.fixture
def rule_offer_schema():
    """A typology rule's "applies to offers" condition."""
    return ConditionSchema(
        contact_fields=CONTACT_FIELDS, allow_context=False, offer_fields=OFFER_FIELDS
    )


@pytest.fixture
def rule_contact_schema():
    """A typology rule's "applies to contacts" condition."""
    return ConditionSchema(contact_fields=CONTACT_FIELDS, allow_context=False)


@pytest.fixture
def anonymous_schema():
    """An anonymous environment's: call context only."""
    return ConditionSchema(contact_fields={}, dimension_label="visitors")


def error_of(tree, schema) -> str:
    with pytest.raises(ConditionError) as caught:
        validate_condition(tree, schema)
    return str(caught.value)


# Valid trees ---------------------------------------------------------------------


@pytest.mark.parametrize("tree", [None, {}], ids=["none", "empty"])
def test_no_condition_is_valid(schema, tree):
    validate_condition(tree, schema)


VALID_COMPARISONS = [
    # numbers: every order and equality operator, lists, emptiness
    *[cmp("age", op, 18) for op in ("=", "!=", "<", "<=", ">", ">=")],
    cmp("age", ">=", 17.5),
    cmp("age", "in", [18, 21, 30]),
    cmp("age", "not in", []),
    cmp("age", "is empty"),
    cmp("age", "is not empty"),
    {"field": "age", "op": "is empty", "value": None},
    cmp("pk", "=", 1),
    cmp("id", "in", [1, 2, 3]),
    # text: equality, lists, contains/startswith, emptiness
    *[cmp("country", op, "FR") for op in ("=", "!=", "contains", "startswith")],
    cmp("country", "in", ["FR", "BE"]),
    cmp("country", "not in", ["US"]),
    cmp("email", "contains", "@example.com"),
    cmp("last_name", "is empty"),
    cmp("first_name", "is not empty"),
    # choices: a listed value, or a text search that need not be a whole choice
    cmp("loyalty_tier", "=", "gold"),
    cmp("loyalty_tier", "!=", "none"),
    cmp("loyalty_tier", "in", ["gold", "platinum"]),
    cmp("loyalty_tier", "startswith", "plat"),
    # dates: ISO dates, and today plus or minus n days
    *[cmp("signup_date", op, "2024-01-31") for op in ("=", "!=", "<", "<=", ">", ">=")],
    cmp("signup_date", ">=", {"today": -30}),
    cmp("signup_date", "<", {"today": 0}),
    cmp("signup_date", "<=", {"today": 7}),
    cmp("signup_date", "is empty"),
    # call context: any plain value, any operator
    cmp("context.language", "=", "fr"),
    cmp("context.basket", ">=", 50),
    cmp("context.basket", "<", 99.9),
    cmp("context.vip", "=", True),
    cmp("context.device", "in", ["mobile", "tablet"]),
    cmp("context.device", "not in", ["desktop"]),
    cmp("context.page", "contains", "/shop/"),
    cmp("context.page", "startswith", "/en/"),
    cmp("context.campaign", "is empty"),
    cmp("context.campaign", "is not empty"),
    {"field": "context.referrer", "op": "=", "value": None},
]


@pytest.mark.parametrize(
    "comparison",
    VALID_COMPARISONS,
    ids=[f"{c['field']} {c['op']} {c.get('value')!r}" for c in VALID_COMPARISONS],
)
def test_valid_comparison(schema, comparison):
    validate_condition(comparison, schema)


def test_every_operator_is_usable_on_some_kind():
    used = {comparison["op"] for comparison in VALID_COMPARISONS}
    assert used == set(OPERATORS)


VALID_TREES = {
    "all": {
        "all": [cmp("country", "=", "FR"), cmp("age", ">=", 18)],
    },
    "any": {
        "any": [cmp("loyalty_tier", "=", "gold"), cmp("context.basket", ">", 100)],
    },
    "not": {"not": cmp("country", "in", ["US", "CA"])},
    "empty all": {"all": []},
    "empty any": {"any": []},
    "deep nesting": {
        "all": [
            cmp("age", ">=", 18),
            {
                "any": [
                    {"not": cmp("loyalty_tier", "=", "none")},
                    {
                        "all": [
                            cmp("signup_date", ">=", {"today": -30}),
                            {"not": {"not": cmp("context.language", "=", "fr")}},
                        ]
                    },
                ]
            },
        ]
    },
}


@pytest.mark.parametrize("tree", VALID_TREES.values(), ids=VALID_TREES.keys())
def test_valid_tree(schema, tree):
    validate_condition(tree, schema)


@pytest.mark.parametrize(
    "tree",
    [
        cmp("offer.category", "=", "credit-cards"),
        cmp("offer.category_path", "startswith", "cards/"),
        cmp("offer.code", "in", ["gold-card", "silver-card"]),
        cmp("offer.themes", "contains", "travel"),
        cmp("offer.id", ">", 10),
        {"all": [cmp("offer.label", "is not empty"), cmp("country", "=", "FR")]},
    ],
    ids=lambda tree: str(tree.get("field", "group")),
)
def test_offer_fields_in_typology_offer_condition(rule_offer_schema, tree):
    validate_condition(tree, rule_offer_schema)


def test_typology_contact_condition_accepts_contact_fields(rule_contact_schema):
    validate_condition(
        {"all": [cmp("age", ">=", 18), cmp("loyalty_tier", "=", "gold")]},
        rule_contact_schema,
    )


def test_anonymous_environment_accepts_context_fields(anonymous_schema):
    validate_condition(
        {"any": [cmp("context.language", "=", "fr"), cmp("context.basket", ">", 10)]},
        anonymous_schema,
    )


# Invalid trees: the message says what is wrong and where -------------------------


def test_unknown_field_is_named_with_the_known_fields(schema):
    message = error_of(cmp("salary", ">", 1000), schema)

    assert "Unknown field “salary” on contact" in message
    assert (
        "Known fields: age, country, email, first_name, id, last_name, "
        "loyalty_tier, pk, signup_date." in message
    )


def test_unknown_field_deep_in_a_tree(schema):
    tree = {"all": [cmp("age", ">", 1), {"not": {"any": [cmp("nickname", "=", "x")]}}]}

    assert "Unknown field “nickname”" in error_of(tree, schema)


INVALID_COMPARISONS = [
    # (comparison, fragments the message must contain)
    # operator not for this kind of field
    (cmp("age", "contains", "1"), ["“age”", "“contains”", "a number field", ">="]),
    (cmp("age", "startswith", "1"), ["“age”", "“startswith”"]),
    (cmp("loyalty_tier", "<", "gold"), ["“loyalty_tier”", "“<”", "a text field"]),
    (cmp("country", ">=", "FR"), ["“country”", "“>=”", "contains"]),
    (cmp("signup_date", "contains", "2024"), ["“signup_date”", "“contains”"]),
    (cmp("signup_date", "in", ["2024-01-01"]), ["“signup_date”", "“in”"]),
    (cmp("age", "~=", 1), ["“age”", "unknown operator “~=”", "is not empty"]),
    # value of the wrong type
    (cmp("age", ">=", "18"), ["“age”", "'18'", "is not a number"]),
    (cmp("age", "=", True), ["“age”", "True", "is not a number"]),
    ({"field": "age", "op": "=", "value": None}, ["“age”", "None", "not a number"]),
    (cmp("country", "=", 33), ["“country”", "33", "is not a text"]),
    (cmp("signup_date", ">", "yesterday"), ["“signup_date”", "'yesterday'"]),
    (cmp("signup_date", ">", "31/01/2024"), ["“signup_date”", "an ISO date"]),
    (cmp("signup_date", ">", {"today": "-30"}), ["“signup_date”", "an ISO date"]),
    (cmp("signup_date", ">", {"today": 1.5}), ["“signup_date”"]),
    (cmp("signup_date", ">", {"days": -30}), ["“signup_date”"]),
    (cmp("signup_date", ">", {"today": -3, "x": 1}), ["“signup_date”"]),
    # beyond Python's dates once resolved (an OverflowError in every call)
    (cmp("signup_date", ">", {"today": 10**9}), ["“signup_date”", "±36500"]),
    (cmp("signup_date", ">", {"today": True}), ["“signup_date”"]),
    (cmp("signup_date", ">", 20240131), ["“signup_date”"]),
    # lists
    (cmp("age", "in", 18), ["“age”", "“in” needs a list of values"]),
    (cmp("country", "not in", "FR"), ["“country”", "“not in” needs a list"]),
    (cmp("age", "in", [18, "21"]), ["“age”", "'21'", "is not a number"]),
    (cmp("context.device", "in", "mobile"), ["“context.device”", "needs a list"]),
    # choices
    (
        cmp("loyalty_tier", "=", "diamond"),
        ["“loyalty_tier”", "'diamond'", "'none', 'silver', 'gold', 'platinum'"],
    ),
    (cmp("loyalty_tier", "in", ["gold", "Gold"]), ["“loyalty_tier”", "'Gold'"]),
    # value present or missing
    (
        {"field": "age", "op": "is empty", "value": 3},
        ["“age”", "“is empty” takes no value"],
    ),
    ({"field": "age", "op": ">="}, ["“age”", "“>=” needs a value"]),
    # context values
    (cmp("context.page", "contains", 3), ["“context.page”", "needs a text value"]),
    (cmp("context.tags", "=", ["a"]), ["“context.tags”", "a plain value"]),
    (cmp("context.", "=", "x"), ["“context.” needs a field name"]),
]


@pytest.mark.parametrize(
    "comparison, fragments",
    INVALID_COMPARISONS,
    ids=[f"{c['field']} {c['op']} {c.get('value')!r}" for c, _ in INVALID_COMPARISONS],
)
def test_invalid_comparison(schema, comparison, fragments):
    message = error_of(comparison, schema)

    for fragment in fragments:
        assert fragment in message


MALFORMED = {
    "list at the root": (
        [cmp("age", ">", 1)],
        "condition: expected an object such as",
    ),
    "text at the root": ("age > 18", "condition: expected an object"),
    "number in a group": ({"all": [3]}, "condition.all[0]: expected an object"),
    "group with two keys": (
        {"all": [], "any": []},
        "condition: a group has exactly one key, “all”, “any” or “not”.",
    ),
    "group with a comparison key": (
        {"all": [], "field": "age"},
        "a group has exactly one key",
    ),
    "group not a list": (
        {"any": cmp("age", ">", 1)},
        "condition.any: expected a list of conditions.",
    ),
    "missing op": (
        {"all": [cmp("age", ">", 1), {"field": "age", "value": 18}]},
        "condition.all[1]: a comparison has the keys “field”, “op” and “value”.",
    ),
    "missing field": ({"op": "=", "value": 1}, "a comparison has the keys"),
    "extra key": (
        {"field": "age", "op": "=", "value": 1, "values": [2]},
        "a comparison has the keys",
    ),
    "field not a name": (
        {"field": ["age"], "op": "=", "value": 1},
        "condition: “field” must be a field name.",
    ),
    "bad node under not": (
        {"not": [cmp("age", ">", 1)]},
        "condition.not: expected an object",
    ),
}


@pytest.mark.parametrize(
    "tree, expected", MALFORMED.values(), ids=list(MALFORMED.keys())
)
def test_malformed_tree(schema, tree, expected):
    assert expected in error_of(tree, schema)


# Where context and offer fields are allowed ------------------------------------


def test_context_refused_in_typology_contact_condition(rule_contact_schema):
    message = error_of(
        {"all": [cmp("age", ">", 18), cmp("context.language", "=", "fr")]},
        rule_contact_schema,
    )

    assert message == "“context.language”: call context fields cannot be used here."


def test_context_refused_in_typology_offer_condition(rule_offer_schema):
    message = error_of(cmp("context.page", "=", "/"), rule_offer_schema)

    assert "“context.page”: call context fields cannot be used here." in message


def test_unknown_offer_field_lists_the_offer_fields(rule_offer_schema):
    message = error_of(cmp("offer.price", ">", 10), rule_offer_schema)

    assert "Unknown offer field “offer.price”" in message
    assert (
        "Known offer fields: category, category_path, code, id, label, themes."
        in message
    )


@pytest.mark.parametrize(
    "comparison, fragment",
    [
        (cmp("offer.id", "contains", "1"), "“offer.id”: operator “contains”"),
        (cmp("offer.code", "=", 12), "“offer.code”: the value 12 is not a text"),
    ],
)
def test_offer_field_kinds_are_checked(rule_offer_schema, comparison, fragment):
    assert fragment in error_of(comparison, rule_offer_schema)


@pytest.mark.parametrize(
    "schema_name", ["schema", "rule_contact_schema", "anonymous_schema"]
)
def test_offer_fields_refused_outside_typology_offer_condition(request, schema_name):
    message = error_of(
        cmp("offer.code", "=", "gold-card"), request.getfixturevalue(schema_name)
    )

    assert message == "“offer.code”: offer fields cannot be used here."


@pytest.mark.parametrize("field", ["country", "age", "pk"])
def test_anonymous_environment_accepts_only_context(anonymous_schema, field):
    message = error_of(cmp(field, "is empty"), anonymous_schema)

    assert message == (
        f"Unknown field “{field}”: this environment is anonymous, only "
        "“context.…” fields can be used."
    )


def test_custom_schema_labels_its_dimension():
    schema = ConditionSchema(
        contact_fields=CONTACT_FIELDS, dimension_label="subscriber"
    )

    assert "Unknown field “plan” on subscriber." in error_of(
        cmp("plan", "=", 1), schema
    )


def test_groups_nested_too_deep(schema):
    tree: dict = cmp("age", ">", 1)
    for _level in range(40):
        tree = {"not": tree}

    assert "nested deeper than 32 levels" in error_of(tree, schema)
