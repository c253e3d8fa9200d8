"""Weight formulas (SPEC §4): safe arithmetic, never ``eval``."""

import builtins
import datetime
from decimal import Decimal

import pytest

from interaction.engine.conditions import ConditionSchema
from interaction.engine.errors import InvalidDefinition
from interaction.engine.evaluation import OfferTerms, WeightRow
from interaction.engine.formulas import names, parse, validate_formula
from tests.engine.catalogue import CONTACT_FIELDS

TODAY = datetime.date(2026, 1, 1)
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def compile_formula(text):
    """``text`` as the engine evaluates it: an offer's only weight row."""
    evaluate = OfferTerms(weight_rows=(WeightRow(text),)).evaluate
    return lambda values: evaluate(values, TODAY, NOW, 1)


def message_of(callable_, *args) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        callable_(*args)
    return str(caught.value)


@pytest.fixture
def schema():
    """An identified environment's: the contact's fields and the call context."""
    return ConditionSchema(contact_fields=CONTACT_FIELDS)


# Evaluation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, values, expected",
    [
        ("1", {}, 1.0),
        ("2.5", {}, 2.5),
        ("  3  ", {}, 3.0),
        ("-2", {}, -2.0),
        ("+4", {}, 4.0),
        ("10 + age / 10", {"age": 30}, 13.0),
        ("age - 8", {"age": 30}, 22.0),
        ("age * 2", {"age": 30}, 60.0),
        ("7 // 2", {}, 3.0),
        ("age % 7", {"age": 30}, 2.0),
        ("(1 + 2) * 3", {}, 9.0),
        ("1 + 2 * 3", {}, 7.0),
        ("-age + 50", {"age": 20}, 30.0),
        ("context.basket * 0.01", {"context.basket": 250}, 2.5),
        ("1 + context.basket / 100", {"context.basket": 50.0}, 1.5),
        ("age + context.bonus", {"age": 40, "context.bonus": 2}, 42.0),
        ("max(1, age - 60)", {"age": 30}, 1.0),
        ("max(1, age - 60)", {"age": 70}, 10.0),
        ("min(5, age, 9)", {"age": 30}, 5.0),
        ("abs(age - 50)", {"age": 30}, 20.0),
        ("round(age / 7)", {"age": 30}, 4.0),
        ("round(age / 7, 2)", {"age": 30}, 4.29),
        ("max(min(age, 40), 18) / 10", {"age": 99}, 4.0),
        ("balance / 2", {"balance": Decimal("5.5")}, 2.75),
        ("balance * 0.5", {"balance": Decimal("5")}, 2.5),
    ],
)
def test_formula_evaluates(text, values, expected):
    result = compile_formula(text)(values)

    assert isinstance(result, float)
    assert result == pytest.approx(expected)


def test_a_compiled_formula_is_reusable():
    weight = compile_formula("10 + age / 10")

    assert [weight({"age": age}) for age in (0, 30, 100)] == [10.0, 13.0, 20.0]


@pytest.mark.parametrize(
    "text, values",
    [
        ("10 / age", {"age": 0}),
        ("10 // age", {"age": 0}),
        ("10 % age", {"age": 0}),
        ("1 / (context.basket - 100)", {"context.basket": 100}),
        ("age * 2", {}),
        ("1 + age", {"age": None}),
        ("context.basket * 2", {}),
        ("context.basket * 2", {"age": 30}),
        ("max(1, age)", {}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_division_by_zero_or_missing_name_evaluates_to_zero(text, values):
    assert compile_formula(text)(values) == 0.0


@pytest.mark.parametrize(
    "value",
    ["3", "abc", [1, 2], {"a": 1}, b"1"],
    ids=["digits", "text", "list", "dict", "bytes"],
)
def test_non_numeric_values_evaluate_to_zero(value):
    # A caller's context is untrusted: "3" * 2 must not become "33", nor
    # "x" * 1000000000 a gigabyte string.
    assert compile_formula("context.basket * 2")({"context.basket": value}) == 0.0
    assert compile_formula("context.s * 1000000000")({"context.s": value}) == 0.0


def test_formula_never_calls_eval(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)

    assert compile_formula("10 + age / 10")({"age": 30}) == 13.0


def test_names_lists_fields_read():
    tree = parse("max(age, 1) + context.basket / 10 - round(context.bonus)")

    assert names(tree) == {"age", "context.basket", "context.bonus"}


# Refused formulas ----------------------------------------------------------------


REFUSED = {
    # calls other than min/max/abs/round
    "__import__('os')": "Only the functions min, max, abs, round can be called.",
    "__import__('os').system('ls')": "",
    "eval('1')": "Only the functions min, max, abs, round can be called.",
    "open('/etc/passwd')": "Only the functions",
    "pow(2, 8)": "Only the functions",
    "int(age)": "Only the functions",
    "context.f(1)": "Only the functions",
    "max(age, key=abs)": "Functions take plain arguments",
    "max()": "Functions take plain arguments",
    "max(*[1, 2])": "",
    # attribute access other than context.name
    "age.__class__": "Only “context.name” can be written with a dot.",
    "age.real": "Only “context.name” can be written with a dot.",
    "().__class__": "Only “context.name” can be written with a dot.",
    "().__class__.__bases__[0].__subclasses__()": "",
    "context.a.b": "Only “context.name” can be written with a dot.",
    "(1).__class__": "Only “context.name” can be written with a dot.",
    # everything else that is not arithmetic
    "lambda: 1": "“Lambda” is not allowed in a formula",
    "'abc'": "Only numbers are allowed, not 'abc'.",
    "'a' * 3": "Only numbers are allowed",
    "b'x'": "Only numbers are allowed",
    "True": "Only numbers are allowed, not True.",
    "None": "Only numbers are allowed, not None.",
    "1j": "Only numbers are allowed",
    "age > 18": "“Compare” is not allowed in a formula",
    "age == 30": "“Compare” is not allowed",
    "age and 1": "“BoolOp” is not allowed",
    "not age": "Only + and - signs are allowed",
    "~age": "Only + and - signs are allowed",
    "2 ** 3": "Only + - * / // % are allowed in a formula.",
    "9 ** 9 ** 9": "Only + - * / // % are allowed",
    "age << 2": "Only + - * / // % are allowed",
    "age & 1": "Only + - * / // % are allowed",
    "1 if age else 2": "“IfExp” is not allowed",
    "[1, 2]": "“List” is not allowed",
    "(1, 2)": "“Tuple” is not allowed",
    "{'a': 1}": "not allowed",
    "age[0]": "“Subscript” is not allowed",
    "(x := 1)": "“NamedExpr” is not allowed",
    "[x for x in ()]": "not allowed",
    "f'{age}'": "not allowed",
}


@pytest.mark.parametrize("text, expected", REFUSED.items(), ids=list(REFUSED))
def test_unsafe_formula_is_refused(text, expected):
    for check in (parse, compile_formula):
        message = message_of(check, text)
        assert expected in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("age +", "“age +” is not a valid formula: invalid syntax."),
        ("1 2", "is not a valid formula"),
        ("(1 + 2", "is not a valid formula"),
        ("10 / / 2", "is not a valid formula"),
        ("age = 3", "is not a valid formula"),
        ("1; import os", "is not a valid formula"),
        ("", "Enter a number or a formula."),
        ("   ", "Enter a number or a formula."),
        ("1 + " * 200 + "1", "A formula has at most 500 characters."),
    ],
    ids=[
        "dangling",
        "two-numbers",
        "paren",
        "double-slash",
        "assign",
        "statement",
        "empty",
        "blank",
        "too-long",
    ],
)
def test_syntax_errors_are_explained(text, expected):
    assert expected in message_of(parse, text)


@pytest.mark.parametrize("value", [None, 3, 2.5])
def test_formula_must_be_text(value):
    assert message_of(parse, value) == "Enter a number or a formula."


# Names: numeric fields of the environment's dimension, or the call context ------


@pytest.mark.parametrize(
    "text",
    [
        "1",
        "0",
        "10 + age / 10",
        "pk % 3",
        "max(id, 1)",
        "context.basket * 0.01",
        "age + context.bonus - context.penalty",
    ],
)
def test_valid_formula_for_the_environment(schema, text):
    validate_formula(text, schema)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("country * 2", "“country” is not a number and cannot be used in a formula."),
        ("1 + loyalty_tier", "“loyalty_tier” is not a number"),
        ("signup_date - 1", "“signup_date” is not a number"),
        ("email", "“email” is not a number"),
        ("unknown + 1", "Unknown field “unknown” on contact. Known fields: age,"),
        ("age.__class__", "Only “context.name” can be written with a dot."),
        ("offer.id * 2", "Only “context.name” can be written with a dot."),
        ("context + 1", "Unknown field “context”"),
        ("__builtins__", "Unknown field “__builtins__”"),
        ("2 ** age", "Only + - * / // % are allowed in a formula."),
    ],
)
def test_invalid_formula_for_the_environment(schema, text, expected):
    assert expected in message_of(validate_formula, text, schema)


def test_anonymous_environment_formulas_use_context_only():
    schema = ConditionSchema(contact_fields={}, dimension_label="visitors")

    validate_formula("1 + context.basket / 100", schema)
    assert "this environment is anonymous" in message_of(
        validate_formula, "age / 10", schema
    )
