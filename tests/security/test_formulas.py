"""Issue 8, point 4: weight formulas compute in a bounded numeric domain.

Each attack is replayed: refused when the weight is saved; forced into the
database (saved without validation), it makes the offer ineligible for that
call with a reason in the trace, quickly, and the API's answer stays valid
JSON (no ``Infinity``).
"""

import datetime
import json
import time

import pytest
from django.core.exceptions import ValidationError

from interaction.delivery.propose import propose as run_propose
from interaction.engine.call import Call
from interaction.engine.conditions import validate_condition
from interaction.engine.errors import ConditionError
from interaction.engine.evaluation import Multiplier, OfferTerms, WeightRow
from interaction.engine.formulas import MAX_MAGNITUDE, OUT_OF_RANGE
from interaction.models import OfferWeight
from tests.builders import make_offer

PROPOSE = "/api/interaction/v1/propose"
TODAY = datetime.date(2026, 1, 1)
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def evaluate(formula, values=None, multipliers=()):
    terms = OfferTerms(weight_rows=(WeightRow(formula),), multipliers=multipliers)
    return terms.evaluate(values or {}, TODAY, NOW, 1)


def strict_json(content: bytes):
    """Parse JSON as the JS client does: ``Infinity`` and ``NaN`` are errors."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(content, parse_constant=refuse)


def api_propose(client, space, contact, **extra):
    return client.post(
        PROPOSE,
        data=json.dumps({"space": space.code, "contact": contact.pk, **extra}),
        content_type="application/json",
    )


def trace_of(space, contact, context=None) -> dict[str, str]:
    result = run_propose(
        Call(
            space=space.code,
            contact=str(contact.pk),
            context=context or {},
            explain=True,
        ),
        store=False,
    )
    return {d.offer_code: d.reason for d in result.trace if not d.kept}


def forced_offer(category, space, formula):
    """A live offer whose weight was saved without validation (import, bug)."""
    return make_offer(
        category,
        "forced",
        spaces=[space],
        title="Forced",
        weights=[OfferWeight(value=formula)],
    )


# --- Refused when saved ---------------------------------------------------------


@pytest.mark.parametrize(
    "formula, message",
    [
        ("round(1, -3000000)", "round() takes a whole number of digits"),
        ("round(age, 16)", "round() takes a whole number of digits"),
        ("round(age, 1.5)", "round() takes a whole number of digits"),
        ("1e308 * 10", "Numbers in a formula lie between -1e15 and 1e15."),
        ("age + 1e16", "Numbers in a formula lie between"),
        ("9" * 400, "Numbers in a formula lie between"),
        ("10 ** 10", "Only + - * / // % are allowed"),
        ("age ** 2", "Only + - * / // % are allowed"),
        ("max(age)", "max() takes at least 2 arguments."),
        ("abs(age, 1)", "abs() takes one argument."),
        ("round(age, 1, 2)", "round() takes one or two arguments"),
    ],
)
def test_out_of_bounds_formula_is_refused_on_save(offer, formula, message):
    with pytest.raises(ValidationError) as raised:
        OfferWeight(offer=offer, value=formula).full_clean()

    assert message in " ".join(raised.value.message_dict["value"])


@pytest.mark.parametrize(
    "formula", ["round(age / 7, 15)", "round(age, -15)", "-1e15 + age", "1e15"]
)
def test_formulas_at_the_bounds_are_accepted(offer, formula):
    OfferWeight(offer=offer, value=formula).full_clean()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_condition_on_a_non_finite_number_is_refused(environment, value):
    with pytest.raises(ConditionError):
        validate_condition(
            {"field": "age", "op": ">", "value": value},
            environment.condition_schema(),
        )


# --- Forced into the database: ineligible for the call, never slow ------------


@pytest.mark.parametrize(
    "formula",
    ["round(1, -3000000)", "round(1, -1000000000)", "1e308 * 10", "1e400", "2e15"],
)
def test_a_forced_formula_out_of_range_makes_the_offer_ineligible(
    client, category, space, contact, formula
):
    forced_offer(category, space, formula)

    started = time.perf_counter()
    response = api_propose(client, space, contact, count=5)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    body = strict_json(response.content)
    assert "forced" not in [p["offer"]["code"] for p in body["propositions"]]
    assert elapsed < 2
    assert trace_of(space, contact)["forced"] == OUT_OF_RANGE


def test_a_computed_overflow_makes_the_offer_ineligible(
    client, category, space, contact, offer
):
    # Valid when saved (each number is in range), out of range when computed.
    formula = "age * 1000000000000000 * 1000000000000000"
    OfferWeight(offer=offer, value=formula).full_clean()
    forced_offer(category, space, formula)

    response = api_propose(client, space, contact, count=5)

    body = strict_json(response.content)
    assert [p["offer"]["code"] for p in body["propositions"]] == ["gold-card"]
    assert trace_of(space, contact)["forced"] == OUT_OF_RANGE


def test_computed_round_digits_out_of_range_are_not_run(category, space, contact):
    forced_offer(category, space, "round(age, context.digits)")

    started = time.perf_counter()
    reason = trace_of(space, contact, {"digits": -1000000000})["forced"]

    assert reason == OUT_OF_RANGE
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("value", [1e309, float("-inf"), float("nan")])
def test_a_non_finite_context_value_is_not_a_number(category, space, contact, value):
    # The API refuses such JSON (422); server-side callers (tag, blocks) can
    # still pass one: it counts as no number, so the weight is 0.
    forced_offer(category, space, "context.basket * 2")

    reason = trace_of(space, contact, {"basket": value})["forced"]

    assert reason == "weight 0 ≤ 0"


def test_a_huge_context_value_is_out_of_range(category, space, contact):
    forced_offer(category, space, "context.basket * 2")

    assert trace_of(space, contact, {"basket": 1e300})["forced"] == OUT_OF_RANGE
    assert trace_of(space, contact, {"basket": 10**400})["forced"] == OUT_OF_RANGE


def test_a_context_value_of_1e309_gives_valid_json(client, category, space, contact):
    forced_offer(category, space, "context.basket * 2")

    response = client.post(
        PROPOSE,
        # json.dumps would write Infinity: the number is written as sent.
        data=json.dumps({"space": space.code, "contact": contact.pk})[:-1]
        + ', "context": {"basket": 1e309}}',
        content_type="application/json",
    )

    # Refused at the edge (422), or served without the offer: valid JSON.
    assert response.status_code in (200, 422)
    body = strict_json(response.content)
    if response.status_code == 200:
        assert "forced" not in [p["offer"]["code"] for p in body["propositions"]]


# --- The bounded domain, in the compiled engine ------------------------------------


@pytest.mark.parametrize(
    "formula, values",
    [
        ("1e308 * 10", {}),
        ("age * 1000000000000000", {"age": 2}),
        ("1 / context.x", {"context.x": 1e-300}),
        ("context.x - 1", {"context.x": 2e15}),
        ("round(context.x, -15) * 10", {"context.x": 9e14}),
        ("abs(context.x) + 1", {"context.x": -1e15}),
    ],
)
def test_every_result_is_bounded(formula, values):
    assert evaluate(formula, values) == OUT_OF_RANGE


@pytest.mark.parametrize(
    "formula, values, expected",
    [
        ("1e15", {}, 1e15),
        ("context.x", {"context.x": -1e15}, -1e15),
        ("round(age / 7, 2)", {"age": 30}, 4.29),
        ("round(age, context.d)", {"age": 1234, "context.d": -2.0}, 1200.0),
        ("age * 2", {"age": 4e14}, 8e14),
        ("7 // 2 + 10 % 4", {}, 5.0),
    ],
)
def test_results_within_the_domain_are_kept(formula, values, expected):
    assert evaluate(formula, values) == pytest.approx(expected)


@pytest.mark.parametrize("factor", [float("inf"), float("nan"), 1e300])
def test_a_multiplier_cannot_take_the_weight_out_of_range(factor):
    assert evaluate("10", multipliers=(Multiplier(factor),)) == OUT_OF_RANGE


def test_the_bound_keeps_whole_numbers_exact():
    assert MAX_MAGNITUDE < 2**53
