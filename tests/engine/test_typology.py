"""Typology rules (SPEC §2, §5 step 6), each variant at its edge, on an
in-memory catalogue and history.

The database side (the history and capping queries, rules compiled from
active rows, what storing does under a cap) is in
``tests/delivery/test_typology.py``.
"""

import pytest

from interaction.engine import core, typology
from interaction.engine.call import Proposal
from tests.builders import DAY, HOUR, NOW, SECOND, codes, dropped

ALL_OFFERS = ["car-loan", "gold", "mortgage", "silver"]


@pytest.fixture
def web(world):
    return world.space("web-banner", channel="web", max_offers=10)


@pytest.fixture
def email(world):
    return world.space("newsletter", channel="email", max_offers=10)


@pytest.fixture
def catalogue(world, web, email):
    """Two categories, two offers each, on both spaces."""
    return {
        code: world.offer(code, category=category, spaces=[web, email])
        for category, code in (
            ("cards", "gold"),
            ("cards", "silver"),
            ("loans", "mortgage"),
            ("loans", "car-loan"),
        )
    }


@pytest.fixture
def record(world):
    return world.history.record


def shown(world, space, contact, **call):
    return sorted(codes(world.ask(space, contact, count=10, **call)))


# Quantity


@pytest.mark.parametrize(("history", "excluded"), [(0, False), (2, False), (3, True)])
def test_quantity_n_minus_one_versus_n(
    world, catalogue, web, contact, record, history, excluded
):
    world.rule(quantity=3)
    for _ in range(history):
        record(catalogue["gold"], web, contact, when=NOW - HOUR)

    result = world.ask(web, contact, count=10)

    assert ("gold" in codes(result)) is not excluded
    if excluded:
        assert dropped(result)["gold"] == (
            "typology rule “rule”: 3 propositions counted in the period, 3 allowed"
        )


def test_a_quantity_of_one_is_worded_in_the_singular(
    world, catalogue, web, contact, record
):
    world.rule(quantity=1)
    record(catalogue["gold"], web, contact, when=NOW - HOUR)

    result = world.ask(web, contact, count=10)

    assert dropped(result)["gold"] == (
        "typology rule “rule”: 1 proposition counted in the period, 1 allowed"
    )


# Period


@pytest.mark.parametrize(
    ("offset", "counted"),
    [
        (-7 * DAY, True),
        (-7 * DAY - SECOND, False),
        (-6 * DAY, True),
        (6 * DAY, True),
        (7 * DAY, True),
        (7 * DAY + SECOND, False),
        (-30 * DAY, False),
        (30 * DAY, False),
    ],
)
def test_window_is_the_contact_date_plus_or_minus_the_period(
    world, catalogue, web, contact, record, offset, counted
):
    world.rule(days=7)
    record(catalogue["gold"], web, contact, when=NOW + offset)

    assert ("gold" not in shown(world, web, contact)) is counted


@pytest.mark.parametrize(
    ("offset", "counted"),
    [
        (-(3 * HOUR - SECOND), True),
        (-(3 * HOUR + SECOND), False),
        (2 * HOUR, True),
        (3 * HOUR + SECOND, False),
    ],
)
def test_period_in_hours(world, catalogue, web, contact, record, offset, counted):
    world.rule(days=0, hours=3)
    record(catalogue["gold"], web, contact, when=NOW + offset)

    assert ("gold" not in shown(world, web, contact)) is counted


def test_days_and_hours_add_up(world, catalogue, web, contact, record):
    world.rule(days=1, hours=6)
    record(catalogue["gold"], web, contact, when=NOW - DAY - 5 * HOUR)
    record(catalogue["silver"], web, contact, when=NOW - DAY - 7 * HOUR)

    assert shown(world, web, contact) == ["car-loan", "mortgage", "silver"]


def test_the_window_follows_the_call_date(world, catalogue, web, contact, record):
    world.rule(days=1)
    record(catalogue["gold"], web, contact, when=NOW)

    assert "gold" not in shown(world, web, contact)
    assert "gold" in shown(world, web, contact, date=NOW + 2 * DAY)
    assert "gold" in shown(world, web, contact, date=NOW - 2 * DAY)


# Same channel only


@pytest.mark.parametrize("same_channel_only", [True, False])
def test_same_channel_only(
    world, catalogue, web, email, contact, record, same_channel_only
):
    world.rule(same_channel_only=same_channel_only)
    record(catalogue["gold"], email, contact)

    assert ("gold" in shown(world, web, contact)) is same_channel_only
    assert "gold" not in shown(world, email, contact)


def test_same_channel_means_channel_not_space(world, catalogue, web, contact, record):
    other_web = world.space("web-sidebar", channel="web")
    world.rule(same_channel_only=True)
    record(catalogue["gold"], other_web, contact)

    assert "gold" not in shown(world, web, contact)


# Offers counted


def test_counted_offers_all(world, catalogue, web, contact, record):
    world.rule(counted_offers="all", quantity=2)
    record(catalogue["gold"], web, contact)
    assert shown(world, web, contact) == ALL_OFFERS

    record(catalogue["mortgage"], web, contact)
    result = world.ask(web, contact, count=10)
    assert codes(result) == []
    assert set(dropped(result)) == set(ALL_OFFERS)


def test_counted_offers_same_offer(world, catalogue, web, contact, record):
    world.rule(counted_offers="offer", quantity=2)
    record(catalogue["gold"], web, contact)
    record(catalogue["silver"], web, contact)
    assert shown(world, web, contact) == ALL_OFFERS

    record(catalogue["gold"], web, contact)
    assert shown(world, web, contact) == ["car-loan", "mortgage", "silver"]


def test_counted_offers_same_category(world, catalogue, web, contact, record):
    world.rule(counted_offers="category", quantity=2)
    record(catalogue["gold"], web, contact)
    record(catalogue["mortgage"], web, contact)
    assert shown(world, web, contact) == ALL_OFFERS

    record(catalogue["silver"], web, contact)
    assert shown(world, web, contact) == ["car-loan", "mortgage"]


def test_counted_offers_rule_offers_share_one_counter(
    world, catalogue, web, contact, record
):
    # The rule applies to the cards ("offer.category" = "cards").
    world.rule(
        counted_offers="rule",
        quantity=2,
        offers=[catalogue["gold"], catalogue["silver"]],
    )
    # Loans history does not count and loans are not limited by the rule.
    for _ in range(3):
        record(catalogue["mortgage"], web, contact)
    record(catalogue["gold"], web, contact)
    assert shown(world, web, contact) == ALL_OFFERS

    record(catalogue["silver"], web, contact)
    result = world.ask(web, contact, count=10)
    assert sorted(codes(result)) == ["car-loan", "mortgage"]
    assert set(dropped(result)) == {"gold", "silver"}


def test_rule_applying_to_some_offers_counts_them_individually(
    world, catalogue, web, contact, record
):
    world.rule(
        counted_offers="offer",
        quantity=1,
        offers=[catalogue["gold"], catalogue["car-loan"]],
    )
    for code in ALL_OFFERS:
        record(catalogue[code], web, contact)

    assert shown(world, web, contact) == ["mortgage", "silver"]


# Statuses counted


@pytest.mark.parametrize(
    ("counted_statuses", "excluding"),
    [
        ("any", {"proposed", "presented", "accepted", "rejected"}),
        ("answered", {"accepted", "rejected"}),
        ("accepted", {"accepted"}),
        ("rejected", {"rejected"}),
    ],
)
@pytest.mark.parametrize(
    "status", ["proposed", "presented", "interested", "accepted", "rejected"]
)
def test_statuses_counted(
    world, catalogue, web, contact, record, counted_statuses, excluding, status
):
    world.rule(counted_statuses=counted_statuses)
    record(catalogue["gold"], web, contact, status=status)

    excluded = status in excluding or counted_statuses == "any"
    assert ("gold" not in shown(world, web, contact)) is excluded


# Contacts, channel


def test_contact_condition(world, catalogue, web, record):
    world.rule(contact_condition={"field": "country", "op": "=", "value": "FR"})
    french, german = world.contact(country="FR"), world.contact(country="DE")
    record(catalogue["gold"], web, french)
    record(catalogue["gold"], web, german)

    assert "gold" not in shown(world, web, french)
    assert "gold" in shown(world, web, german)


def test_rule_channel(world, catalogue, web, email, contact, record):
    world.rule(channel="email")
    record(catalogue["gold"], web, contact)

    assert "gold" in shown(world, web, contact)
    assert "gold" not in shown(world, email, contact)


def test_rules_combine(world, catalogue, web, contact, record):
    world.rule("per-offer", quantity=1)
    world.rule(
        "loans",
        counted_offers="category",
        quantity=1,
        offers=[catalogue["mortgage"], catalogue["car-loan"]],
    )
    record(catalogue["gold"], web, contact)
    record(catalogue["mortgage"], web, contact)

    assert shown(world, web, contact) == ["silver"]


def test_visitors_are_counted_by_their_visitor_id(world, record):
    space = world.space("visitor-banner", environment="visitors")
    offer = world.offer(
        "welcome-pack", category="welcome", environment="visitors", spaces=[space]
    )
    world.rule(environment="visitors")
    record(offer, space, "visitor-1", visitor=True)

    assert codes(world.ask(space, visitor="visitor-1")) == []
    assert codes(world.ask(space, visitor="visitor-2")) == ["welcome-pack"]


def test_the_history_is_read_at_most_once_a_call(
    world, catalogue, web, contact, record
):
    """Brought along with the contact when the lookup covers the longest
    period, else read once for every rule."""
    world.rule("week", days=7)
    world.rule("day", days=1, counted_offers="category")
    record(catalogue["gold"], web, contact, when=NOW - 2 * DAY)

    assert shown(world, web, contact) == ["car-loan", "mortgage", "silver"]
    assert world.history.reads == 0

    space = world.space("by-email", identification_fields=("email",))
    world.offer("by-email-offer", spaces=[space])
    assert codes(world.ask(space, contact=contact.email)) == ["by-email-offer"]
    assert world.history.reads == 1


# Global capping


def test_global_capping_of_some_offers(world, catalogue, web, contact, record):
    world.rule(
        global_capping=True,
        quantity=1,
        offers=[catalogue["mortgage"], catalogue["car-loan"]],
    )
    for code in ALL_OFFERS:
        record(catalogue[code], web, world.contact())

    assert shown(world, web, contact) == ["gold", "silver"]


def test_the_call_tells_the_storage_step_its_capping_rules_and_ranking(
    world, catalogue, web, contact
):
    budget = world.rule("budget", global_capping=True, quantity=100)
    world.rule("email-budget", global_capping=True, quantity=1, channel="email")
    world.rule("per-offer")

    outcome = world.ask(web, contact, count=2, seed=1)

    assert outcome.capping_rules == (budget,)
    assert outcome.limit == 2
    assert len(outcome.ranking) == 4
    assert [p.offer for p in outcome.proposals] == [
        offer for offer, _weight in outcome.ranking[:2]
    ]


# Choosing from the ranking (the storage step chooses again when a cap ran out)


def test_choose_gives_an_excluded_offers_place_to_the_next(world, catalogue):
    ranking = [
        (catalogue["gold"], 9.0),
        (catalogue["silver"], 5.0),
        (catalogue["mortgage"], 5.0),
        (catalogue["car-loan"], 1.0),
    ]

    assert core.choose(ranking, 2) == [
        Proposal(catalogue["gold"], 1, 9.0),
        Proposal(catalogue["silver"], 2, 5.0),
    ]
    assert core.choose(ranking, 2, excluded={catalogue["gold"].id}) == [
        Proposal(catalogue["silver"], 1, 5.0),
        Proposal(catalogue["mortgage"], 2, 5.0),
    ]
    everything_capped = {offer.id for offer, _weight in ranking}
    assert core.choose(ranking, 2, excluded=everything_capped) == []
    assert core.choose(ranking, 0) == []
    assert len(core.choose(ranking, 10)) == 4


def test_only_a_rule_over_every_offer_and_contact_is_decisive(world, catalogue):
    """:func:`typology.tallies` marks decisive, when asked (a call tracing no
    reasons), the tally of a rule that counts every proposition for every
    offer and contact: reaching it excludes every offer whatever else is
    counted."""
    rules = [
        world.rule("all", counted_offers="all"),
        world.rule("rule-offers", counted_offers="rule"),
        world.rule("per-offer", counted_offers="offer"),
        world.rule("some-offers", counted_offers="all", offers=[catalogue["gold"]]),
        world.rule(
            "some-contacts",
            counted_offers="all",
            contact_condition={"field": "country", "op": "=", "value": "DE"},
        ),
    ]

    decided = typology.tallies(rules, "web", decisive=True)

    assert [tally.decisive for tally in decided] == [True, True, False, False, False]
    assert not any(tally.decisive for tally in typology.tallies(rules, "web"))
