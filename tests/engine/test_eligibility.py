"""The offer engine, SPEC §5 steps 1-5 and 7, on an in-memory catalogue: space,
identification, scope, eligibility, weights, arbitration and the trace.

How published rows compile into what the engine reads (category chains, live
versions only, required content) is tested in ``tests/delivery/``.
"""

import datetime

import pytest

from interaction.engine.errors import SpaceNotRealTime, UnknownSpace
from interaction.engine.evaluation import Multiplier, WeightRow, Window
from tests.builders import DAY, NOW, codes, dropped, weights

FRENCH = {"field": "country", "op": "=", "value": "FR"}
ADULT = {"field": "age", "op": ">=", "value": 18}
GOLDEN = {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}


@pytest.fixture
def space(world):
    return world.space()


@pytest.fixture
def wide_space(world):
    """A space that can show up to ten offers."""
    return world.space("wide", max_offers=10)


@pytest.fixture
def offer(world, space):
    return world.offer(spaces=[space])


# 1. Space


def test_unknown_space_raises(world, contact):
    with pytest.raises(UnknownSpace):
        world.ask("no-such-space", contact)


def test_batch_only_space_refuses_inbound_calls(world, contact):
    batch = world.space("mailing", real_time=False)
    world.offer(spaces=[batch])

    with pytest.raises(SpaceNotRealTime):
        world.ask(batch, contact)
    assert codes(world.ask(batch, contact, real_time=False)) == ["gold-card"]


# 2. Identification


def test_identified_by_primary_key(world, contact, offer, space):
    result = world.ask(space, contact)

    assert result.identified
    assert result.contact_key == str(contact.pk)
    assert codes(result) == ["gold-card"]


@pytest.mark.parametrize("contact_id", ["999999", "not-a-number", "", "1|2"])
def test_unknown_primary_key_is_not_identified(
    world, contact, offer, space, contact_id
):
    result = world.ask(space, contact=contact_id)

    assert not result.identified
    assert result.proposals == []
    assert "fallback" in result.reason


def test_identified_by_several_fields_joined_with_a_bar(world):
    ada = world.contact(email="ada@example.com", country="FR")
    space = world.space("by-email-country", identification_fields=("email", "country"))
    world.offer(spaces=[space])

    assert world.ask(space, contact="ada@example.com|FR").identified
    assert not world.ask(space, contact="ada@example.com|DE").identified
    assert not world.ask(space, contact="FR|ada@example.com").identified
    assert not world.ask(space, contact="ada@example.com").identified
    assert not world.ask(space, contact="ada@example.com|FR|x").identified
    result = world.ask(space, contact=f"{ada.email}|{ada.country}")
    assert result.contact_key == str(ada.pk)
    assert codes(result) == ["gold-card"]


@pytest.fixture
def anonymous_space(world):
    space = world.space("visitor-banner", environment="visitors")
    world.offer(
        "welcome-pack", category="welcome", environment="visitors", spaces=[space]
    )
    return space


def test_unknown_contact_falls_back_to_the_anonymous_space(
    world, offer, anonymous_space
):
    space = world.space("with-fallback", fallback=anonymous_space)

    result = world.ask(space, contact="424242", visitor="visitor-1")

    assert not result.identified
    assert result.space.code == "visitor-banner"
    assert result.contact_key is None
    assert result.visitor == "visitor-1"
    assert codes(result) == ["welcome-pack"]


def test_no_contact_at_all_falls_back_too(world, offer, anonymous_space):
    space = world.space("with-fallback", fallback=anonymous_space)

    result = world.ask(space, visitor="visitor-1")

    assert not result.identified
    assert codes(result) == ["welcome-pack"]


def test_known_contact_ignores_the_fallback(world, contact, anonymous_space):
    space = world.space("with-fallback", fallback=anonymous_space)
    world.offer(spaces=[space])

    result = world.ask(space, contact, visitor="visitor-1")

    assert result.identified
    assert result.space.code == "with-fallback"
    assert codes(result) == ["gold-card"]


def test_anonymous_space_serves_visitors(world, anonymous_space):
    result = world.ask(anonymous_space, visitor="visitor-7")

    assert not result.identified
    assert result.visitor == "visitor-7"
    assert codes(result) == ["welcome-pack"]


def test_unknown_contact_without_fallback_gets_nothing_and_a_reason(
    world, offer, space, contact
):
    result = world.ask(space, contact="424242")

    assert result.proposals == []
    assert "424242" in result.reason and "fallback" in result.reason

    result = world.ask(space)
    assert result.proposals == []
    assert result.reason


# 3. Scope


def add_tree(world, *spaces):
    """cards > gold > platinum, a sibling "loans", and one offer in each; each
    offer has the themes of its category and of the categories above it."""
    themes = {
        "cards": "payment, travel",
        "cards/gold": "payment, travel, premium",
        "cards/gold/platinum": "payment, travel, premium",
        "loans": "home",
    }
    for path, category_themes in themes.items():
        code = path.split("/")[-1]
        world.offer(
            f"{code}-offer", category=path, themes=category_themes, spaces=spaces
        )


@pytest.fixture
def tree(world, wide_space):
    add_tree(world, wide_space)


def test_category_scope_includes_subcategories_not_siblings(
    world, tree, wide_space, contact
):
    def in_category(category):
        return sorted(
            codes(world.ask(wide_space, contact, count=10, category=category))
        )

    assert in_category("cards") == ["cards-offer", "gold-offer", "platinum-offer"]
    assert in_category("gold") == ["gold-offer", "platinum-offer"]
    assert in_category("loans") == ["loans-offer"]
    assert in_category("unknown") == []


def test_themes_match_whatever_their_case(world, tree, wide_space, contact):
    def by_themes(*themes):
        return sorted(codes(world.ask(wide_space, contact, count=10, themes=themes)))

    assert by_themes("travel") == ["cards-offer", "gold-offer", "platinum-offer"]
    assert by_themes("TRAVEL") == ["cards-offer", "gold-offer", "platinum-offer"]
    assert by_themes("premium") == ["gold-offer", "platinum-offer"]
    assert by_themes("premium", "home") == [
        "gold-offer",
        "loans-offer",
        "platinum-offer",
    ]
    assert by_themes("unknown") == []


def test_category_and_themes_together_are_a_union(world, tree, wide_space, contact):
    result = world.ask(
        wide_space, contact, count=10, category="platinum", themes=("home",)
    )

    assert sorted(codes(result)) == ["loans-offer", "platinum-offer"]


def test_no_category_nor_theme_means_the_whole_environment(
    world, tree, wide_space, contact
):
    # An offer of another environment, even listed on the space, is no candidate.
    world.offer(
        "other-env-offer",
        category="elsewhere",
        environment="partners",
        spaces=[wide_space],
    )

    assert sorted(codes(world.ask(wide_space, contact, count=10))) == [
        "cards-offer",
        "gold-offer",
        "loans-offer",
        "platinum-offer",
    ]


def test_always_include_categories_join_every_call(world, tree, wide_space, contact):
    world.offer(
        "fallback-offer", category="fallback", always_include=True, spaces=[wide_space]
    )
    world.offer(
        "fallback-child-offer",
        category="fallback/fallback-child",
        always_include=True,
        spaces=[wide_space],
    )
    expected_extra = ["fallback-child-offer", "fallback-offer"]

    def asked(**call):
        return sorted(codes(world.ask(wide_space, contact, count=10, **call)))

    assert asked(category="loans") == [*expected_extra, "loans-offer"]
    assert asked(themes=("none",)) == expected_extra
    assert len(asked()) == 6


def test_space_default_category_is_used_when_the_call_gives_none(world, contact):
    space = world.space("gold-corner", max_offers=10, default_category="gold")
    add_tree(world, space)

    assert sorted(codes(world.ask(space, contact, count=10))) == [
        "gold-offer",
        "platinum-offer",
    ]
    # The call's own category wins over the default.
    assert codes(world.ask(space, contact, count=10, category="loans")) == [
        "loans-offer"
    ]
    assert sorted(codes(world.ask(space, contact, count=10, themes=("home",)))) == [
        "loans-offer"
    ]


def test_space_default_themes_are_used_when_the_call_gives_none(world, contact):
    space = world.space("home-corner", max_offers=10, default_themes="Home")
    world.offer("cards-offer", category="cards", themes="payment", spaces=[space])
    world.offer("platinum-offer", category="cards/platinum", spaces=[space])
    world.offer("loans-offer", category="loans", themes="home", spaces=[space])

    assert codes(world.ask(space, contact, count=10)) == ["loans-offer"]
    assert codes(world.ask(space, contact, count=10, category="platinum")) == [
        "platinum-offer"
    ]


# 4. Eligibility


def test_offer_not_on_this_space_is_not_a_candidate(world, contact):
    here = world.space("here")
    there = world.space("there")
    world.offer("here-offer", spaces=[here])
    world.offer("there-offer", spaces=[there])
    world.offer("nowhere-offer")

    result = world.ask(here, contact, count=3)

    assert codes(result) == ["here-offer"]
    assert [d.offer_code for d in result.trace] == ["here-offer"]


@pytest.mark.parametrize(
    ("start", "end", "eligible"),
    [
        (None, None, True),
        (NOW, None, True),
        (None, NOW, True),
        (NOW - DAY, NOW + DAY, True),
        (NOW + datetime.timedelta(seconds=1), None, False),
        (None, NOW - datetime.timedelta(seconds=1), False),
        (NOW - 3 * DAY, NOW - DAY, False),
    ],
)
def test_offer_dates(world, space, contact, start, end, eligible):
    world.offer(spaces=[space], dates=[(start, end)])

    result = world.ask(space, contact)

    assert codes(result) == (["gold-card"] if eligible else [])
    if not eligible:
        assert "outside the dates" in dropped(result)["gold-card"]


@pytest.mark.parametrize(
    ("start", "end", "eligible"),
    [
        (NOW - DAY, NOW + DAY, True),
        (NOW + DAY, None, False),
        (None, NOW - DAY, False),
    ],
)
def test_ancestor_category_dates(world, space, contact, start, end, eligible):
    """The offer's own dates allow the call; a category above it decides."""
    world.offer(
        category="top/middle/leaf",
        spaces=[space],
        dates=[(NOW - 3 * DAY, NOW + 3 * DAY), (None, None), (start, end)],
    )

    result = world.ask(space, contact)

    assert codes(result) == (["gold-card"] if eligible else [])
    if not eligible:
        assert "outside the dates" in dropped(result)["gold-card"]


def test_a_blocked_offer_is_dropped_with_its_reason(world, wide_space, contact):
    world.offer("top-offer", category="top", spaces=[wide_space])
    world.offer(
        "leaf-offer",
        category="top/middle/leaf",
        spaces=[wide_space],
        blocked="category “middle” is disabled",
    )

    result = world.ask(wide_space, contact, count=5)

    assert codes(result) == ["top-offer"]
    assert dropped(result) == {"leaf-offer": "category “middle” is disabled"}


def test_environment_target_filter(world, space):
    world.offer(spaces=[space], filters=[("the environment", FRENCH)])

    assert codes(world.ask(space, world.contact(country="FR"))) == ["gold-card"]
    result = world.ask(space, world.contact(country="DE"))
    assert codes(result) == []
    assert dropped(result) == {
        "gold-card": "contact does not match the target filter of the environment"
    }


def test_every_ancestor_category_target_filter(world, space):
    world.offer(
        category="top/leaf",
        spaces=[space],
        filters=[("category “top”", ADULT), ("category “leaf”", FRENCH)],
    )

    adult = world.contact(age=30, country="FR")
    assert codes(world.ask(space, adult)) == ["gold-card"]
    minor = world.ask(space, world.contact(age=16, country="FR"))
    assert dropped(minor) == {
        "gold-card": "contact does not match the target filter of category “top”"
    }
    german = world.ask(space, world.contact(age=30, country="DE"))
    assert dropped(german) == {
        "gold-card": "contact does not match the target filter of category “leaf”"
    }


def test_offer_target_filter(world, space):
    world.offer(spaces=[space], filters=[("the offer", GOLDEN)])

    platinum = world.contact(loyalty_tier="platinum")
    assert codes(world.ask(space, platinum)) == ["gold-card"]
    result = world.ask(space, world.contact(loyalty_tier="silver"))
    assert dropped(result) == {
        "gold-card": "contact does not match the target filter of the offer"
    }


def test_relative_date_filter_is_relative_to_the_contact_date(world, space):
    recent = {"field": "signup_date", "op": ">=", "value": {"today": -30}}
    world.offer(spaces=[space], filters=[("the offer", recent)])
    newcomer = world.contact(signup_date=datetime.date(2026, 6, 1))

    assert codes(world.ask(space, newcomer)) == ["gold-card"]
    assert codes(world.ask(space, newcomer, date=NOW + 30 * DAY)) == []


def test_context_conditions(world, space, contact):
    mobile = {"field": "context.device", "op": "=", "value": "mobile"}
    world.offer(spaces=[space], filters=[("the offer", mobile)])

    assert codes(world.ask(space, contact, context={"device": "mobile"})) == [
        "gold-card"
    ]
    assert codes(world.ask(space, contact, context={"device": "desktop"})) == []
    assert codes(world.ask(space, contact)) == []


def test_required_content_missing_in_one_space_only(world, contact):
    strict = world.space("strict", max_offers=2)
    lenient = world.space("lenient", max_offers=2)
    world.offer("untitled", spaces=[strict, lenient], incomplete_in=[strict])
    world.offer("titled", spaces=[strict, lenient])

    result = world.ask(strict, contact, count=2)
    assert codes(result) == ["titled"]
    assert dropped(result) == {"untitled": "required content of the space is missing"}
    assert sorted(codes(world.ask(lenient, contact, count=2))) == ["titled", "untitled"]


# 5. Weights


def test_no_weight_rows_means_weight_one(world, offer, space, contact):
    assert weights(world.ask(space, contact)) == {"gold-card": 1.0}


def test_highest_applicable_row_wins(world, space, contact):
    world.offer(spaces=[space], weights=[2, 5, 3])

    assert weights(world.ask(space, contact)) == {"gold-card": 5.0}


def test_weight_rows_by_date(world, space, contact):
    world.offer(
        spaces=[space],
        weights=[
            WeightRow("2"),
            WeightRow("10", Window(end=NOW - DAY)),
            WeightRow("20", Window(start=NOW + DAY)),
            WeightRow("5", Window(NOW - DAY, NOW + DAY)),
        ],
    )

    assert weights(world.ask(space, contact)) == {"gold-card": 5.0}
    assert weights(world.ask(space, contact, date=NOW + 2 * DAY)) == {"gold-card": 20.0}
    assert weights(world.ask(space, contact, date=NOW - 2 * DAY)) == {"gold-card": 10.0}


def test_weight_rows_by_space(world, contact):
    banner = world.space("banner")
    footer = world.space("footer")
    world.offer(
        spaces=[banner, footer],
        weights=[WeightRow("2"), WeightRow("7", space_id=footer.id)],
    )

    assert weights(world.ask(banner, contact)) == {"gold-card": 2.0}
    assert weights(world.ask(footer, contact)) == {"gold-card": 7.0}


def test_weight_rows_by_target_filter(world, space):
    world.offer(
        spaces=[space], weights=[WeightRow("2"), WeightRow("9", condition=FRENCH)]
    )

    assert weights(world.ask(space, world.contact(country="FR"))) == {"gold-card": 9.0}
    assert weights(world.ask(space, world.contact(country="DE"))) == {"gold-card": 2.0}


def test_weight_formulas_over_contact_fields_and_context(world, space):
    world.offer(spaces=[space], weights=["age / 10", "context.basket * 0.1"])

    assert weights(world.ask(space, world.contact(age=40))) == {"gold-card": 4.0}
    rich = world.ask(space, world.contact(age=40), context={"basket": 200})
    assert weights(rich) == {"gold-card": 20.0}


def test_no_applicable_row_drops_the_offer(world, space, contact):
    elsewhere = world.space("elsewhere")
    world.offer(
        spaces=[space],
        weights=[
            WeightRow("5", space_id=elsewhere.id),
            WeightRow("5", condition={"field": "country", "op": "=", "value": "DE"}),
        ],
    )

    result = world.ask(space, contact)

    assert codes(result) == []
    assert "≤ 0" in dropped(result)["gold-card"]


@pytest.mark.parametrize("value", ["0", "-1", "age - 100", "context.missing"])
def test_weight_not_above_zero_drops_the_offer(world, space, contact, value):
    world.offer(spaces=[space], weights=[value])

    result = world.ask(space, contact)

    assert codes(result) == []
    assert "≤ 0" in dropped(result)["gold-card"]


def test_formula_weight_drops_only_the_contacts_it_makes_non_positive(world, space):
    world.offer(spaces=[space], weights=["age - 30"])

    assert weights(world.ask(space, world.contact(age=40))) == {"gold-card": 10.0}
    assert codes(world.ask(space, world.contact(age=30))) == []


def test_multipliers_of_ancestor_categories_active_on_the_date(world, space, contact):
    world.offer(
        category="top/leaf",
        spaces=[space],
        weights=[5],
        multipliers=[Multiplier(3.0), Multiplier(2.0, Window(NOW - DAY, NOW + DAY))],
    )

    assert weights(world.ask(space, contact)) == {"gold-card": 30.0}
    # Outside the top category's multiplier dates only the leaf's applies.
    assert weights(world.ask(space, contact, date=NOW + 2 * DAY)) == {"gold-card": 15.0}
    assert weights(world.ask(space, contact, date=NOW - 2 * DAY)) == {"gold-card": 15.0}


def test_zero_multiplier_drops_the_offer(world, space, contact):
    world.offer(category="top", spaces=[space], multipliers=[0.0])

    result = world.ask(space, contact)

    assert codes(result) == []
    assert "≤ 0" in dropped(result)["gold-card"]


# 7. Arbitration


def test_sorted_by_weight_highest_first(world, wide_space, contact):
    for code, weight in (("low", 1), ("high", 9), ("middle", 4)):
        world.offer(code, spaces=[wide_space], weights=[weight])

    result = world.ask(wide_space, contact, count=3)

    assert codes(result) == ["high", "middle", "low"]
    assert [p.rank for p in result.proposals] == [1, 2, 3]
    assert [p.weight for p in result.proposals] == [9.0, 4.0, 1.0]


@pytest.fixture
def five_ties(world, wide_space):
    """Five offers of equal weight, plus one heavier."""
    world.offer("heavy", spaces=[wide_space], weights=[2])
    for number in range(5):
        world.offer(f"tie-{number}", spaces=[wide_space])


def test_ties_are_ordered_by_the_seed_reproducibly(
    world, five_ties, wide_space, contact
):
    def order(seed):
        return codes(world.ask(wide_space, contact, count=6, seed=seed))

    orders = {seed: order(seed) for seed in range(12)}

    for seed, ranked in orders.items():
        assert ranked[0] == "heavy"
        assert sorted(ranked[1:]) == [f"tie-{n}" for n in range(5)]
        assert order(seed) == ranked
    assert len({tuple(ranked) for ranked in orders.values()}) > 3


def test_ties_alternate_between_calls_without_a_seed(
    world, five_ties, wide_space, contact
):
    firsts = {codes(world.ask(wide_space, contact, count=2))[1] for _ in range(30)}

    assert len(firsts) > 1


def test_count_is_capped_by_the_space_maximum(world, contact):
    space = world.space("narrow", max_offers=2)
    for number in range(4):
        world.offer(f"offer-{number}", spaces=[space], weights=[number + 1])

    assert codes(one := world.ask(space, contact, count=1)) == ["offer-3"]
    assert dropped(one)["offer-2"] == "ranked beyond the 1 offer shown"
    assert codes(world.ask(space, contact, count=2)) == ["offer-3", "offer-2"]
    result = world.ask(space, contact, count=10)
    assert codes(result) == ["offer-3", "offer-2"]
    assert dropped(result) == {
        "offer-1": "ranked beyond the 2 offers shown",
        "offer-0": "ranked beyond the 2 offers shown",
    }
    assert codes(world.ask(space, contact, count=0)) == []


def test_an_offer_appears_once(world, contact):
    """Several applicable rows and spaces never duplicate an offer."""
    space = world.space("many", max_offers=10)
    other = world.space("other")
    world.offer(
        spaces=[space, other],
        weights=[WeightRow("2"), WeightRow("2"), WeightRow("3", space_id=space.id)],
    )

    result = world.ask(space, contact, count=10, category="cards", themes=("x",))

    assert codes(result) == ["gold-card"]
    assert weights(result) == {"gold-card": 3.0}


# Trace


def test_the_trace_explains_every_candidate(world, wide_space):
    adults = ("the environment", ADULT)
    world.offer("kept", spaces=[wide_space], filters=[adults])
    world.offer(
        "expired", spaces=[wide_space], filters=[adults], dates=[(None, NOW - DAY)]
    )
    world.offer(
        "for-french",
        spaces=[wide_space],
        filters=[adults, ("the offer", FRENCH)],
    )
    world.offer(
        "in-closed",
        category="closed",
        spaces=[wide_space],
        filters=[adults],
        blocked="category “closed” is disabled",
    )
    world.offer("zero", spaces=[wide_space], filters=[adults], weights=[0])
    world.offer("on-another-space", filters=[adults])

    result = world.ask(wide_space, world.contact(country="DE", age=30), count=5)

    assert codes(result) == ["kept"]
    assert [d for d in result.trace if d.kept][0].rank == 1
    reasons = dropped(result)
    assert set(reasons) == {"expired", "for-french", "in-closed", "zero"}
    assert "outside the dates" in reasons["expired"]
    assert "target filter of the offer" in reasons["for-french"]
    assert "“closed” is disabled" in reasons["in-closed"]
    assert "≤ 0" in reasons["zero"]
    assert all(reason for reason in reasons.values())

    minor = world.ask(wide_space, world.contact(country="FR", age=12), count=5)
    assert "target filter of the environment" in dropped(minor)["kept"]


def test_an_unexplained_call_keeps_no_trace(world, wide_space, contact):
    world.offer("kept", spaces=[wide_space])
    world.offer("expired", spaces=[wide_space], dates=[(None, NOW - DAY)])

    result = world.ask(wide_space, contact, count=5, explain=False)

    assert codes(result) == ["kept"]
    assert result.trace == []
