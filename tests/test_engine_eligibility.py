"""The offer engine, SPEC §5 steps 1-5 and 7: space, identification, scope,
eligibility, weights, arbitration, and that only live content is ever served."""

import datetime
import itertools

import pytest
from home.models import Contact

from interaction.delivery import propose as services
from interaction.engine.call import Call
from interaction.engine.errors import SpaceNotRealTime, UnknownSpace
from interaction.models import OfferWeight, Proposition, SpaceContentField

from .conftest import make_category, make_offer, make_space, publish

UTC = datetime.UTC
NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)

# Helpers shared by the other engine test modules.

_emails = itertools.count(1)


def make_contact(**fields):
    values = {
        "email": f"contact{next(_emails)}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "age": 40,
        "country": "FR",
        "loyalty_tier": "gold",
        "signup_date": datetime.date(2024, 1, 1),
    }
    values.update(fields)
    return Contact.objects.create(**values)


def ask(space, contact=None, *, store=False, **call):
    """One inbound engine call on ``space`` at ``NOW`` unless told otherwise."""
    call.setdefault("date", NOW)
    if contact is not None:
        call.setdefault(
            "contact", contact if isinstance(contact, str) else str(contact.pk)
        )
    code = space if isinstance(space, str) else space.code
    return services.propose(Call(space=code, **call), store=store)


def codes(result):
    return [proposition.offer.code for proposition in result.propositions]


def dropped(result):
    """Offer code -> reason, for every candidate the engine left out."""
    return {d.offer_code: d.reason for d in result.trace if not d.kept}


def weights(result):
    return {p.offer.code: p.weight for p in result.propositions}


def add_weight(offer, value, **fields):
    """Add a weight row and publish the offer again, as the admin does."""
    OfferWeight.objects.create(offer=offer, value=str(value), **fields)
    return publish(offer)


def record(offer, space, who, *, status="proposed", when=NOW, visitor=False):
    """A stored proposition of ``offer`` to ``who`` (a contact or a visitor id)."""
    reference = who if isinstance(who, str) else str(who.pk)
    return Proposition.objects.create(
        environment_id=space.environment_id,
        offer=offer,
        offer_code=offer.code,
        category_id=offer.category_id,
        space=space,
        channel=space.channel,
        contact_key="" if visitor else reference,
        visitor_id=reference if visitor else "",
        rank=1,
        weight=1.0,
        status=status,
        event_date=when,
    )


@pytest.fixture
def contact(db):
    return make_contact()


@pytest.fixture
def wide_space(environment):
    """A space that can show up to ten offers."""
    return make_space(environment, "wide", max_offers=10)


# 1. Space


def test_unknown_space_raises(environment, contact):
    with pytest.raises(UnknownSpace):
        ask("no-such-space", contact)


def test_unpublished_space_raises(environment, contact, category):
    draft = make_space(environment, "draft-space", live=False)
    make_offer(category, spaces=[draft])

    with pytest.raises(UnknownSpace):
        ask(draft, contact)


def test_space_unpublished_after_going_live_raises(environment, contact, offer, space):
    assert codes(ask(space, contact)) == ["gold-card"]

    space.unpublish()

    with pytest.raises(UnknownSpace):
        ask(space, contact)


def test_batch_only_space_refuses_inbound_calls(environment, contact, category):
    batch = make_space(environment, "mailing", real_time=False)
    make_offer(category, spaces=[batch])

    with pytest.raises(SpaceNotRealTime):
        ask(batch, contact)
    assert codes(ask(batch, contact, real_time=False)) == ["gold-card"]


# 2. Identification


def test_identified_by_primary_key(contact, offer, space):
    result = ask(space, contact, store=True)

    assert result.identified
    assert codes(result) == ["gold-card"]
    assert Proposition.objects.get().contact_key == str(contact.pk)


@pytest.mark.parametrize("contact_id", ["999999", "not-a-number", "", "1|2"])
def test_unknown_primary_key_is_not_identified(contact, offer, space, contact_id):
    result = ask(space, contact=contact_id)

    assert not result.identified
    assert result.propositions == []
    assert "fallback" in result.reason


def test_identified_by_email(environment, category, contact):
    space = make_space(environment, "by-email", identification_fields="email")
    make_offer(category, spaces=[space])

    result = ask(space, contact=contact.email, store=True)

    assert result.identified
    assert codes(result) == ["gold-card"]
    # History is keyed by the contact's primary key, whatever identified it.
    assert Proposition.objects.get().contact_key == str(contact.pk)
    assert not ask(space, contact=str(contact.pk)).identified


def test_identified_by_several_fields_joined_with_a_bar(environment, category):
    ada = make_contact(email="ada@example.com", country="FR")
    space = make_space(
        environment, "by-email-country", identification_fields="email,country"
    )
    make_offer(category, spaces=[space])

    assert ask(space, contact="ada@example.com|FR").identified
    assert not ask(space, contact="ada@example.com|DE").identified
    assert not ask(space, contact="FR|ada@example.com").identified
    assert not ask(space, contact="ada@example.com").identified
    assert not ask(space, contact="ada@example.com|FR|x").identified
    assert ask(space, contact=f"{ada.email}|{ada.country}").propositions


@pytest.fixture
def anonymous_space(anonymous_environment):
    category = make_category(anonymous_environment, "welcome")
    space = make_space(anonymous_environment, "visitor-banner")
    make_offer(category, "welcome-pack", spaces=[space])
    return space


def test_unknown_contact_falls_back_to_the_anonymous_space(
    environment, offer, anonymous_space, anonymous_environment
):
    space = make_space(environment, "with-fallback", fallback_space=anonymous_space)
    offer.spaces.add(space)
    publish(offer)

    result = ask(space, contact="424242", visitor="visitor-1", store=True)

    assert not result.identified
    assert result.space_code == "visitor-banner"
    assert codes(result) == ["welcome-pack"]
    stored = Proposition.objects.get()
    assert stored.environment_id == anonymous_environment.pk
    assert stored.visitor_id == "visitor-1"
    assert stored.contact_key == ""
    assert stored.space_id == anonymous_space.pk


def test_no_contact_at_all_falls_back_too(environment, offer, anonymous_space):
    space = make_space(environment, "with-fallback", fallback_space=anonymous_space)

    result = ask(space, visitor="visitor-1")

    assert not result.identified
    assert codes(result) == ["welcome-pack"]


def test_known_contact_ignores_the_fallback(environment, contact, anonymous_space):
    category = make_category(environment, "cards")
    space = make_space(environment, "with-fallback", fallback_space=anonymous_space)
    make_offer(category, spaces=[space])

    result = ask(space, contact, visitor="visitor-1")

    assert result.identified
    assert result.space_code == "with-fallback"
    assert codes(result) == ["gold-card"]


def test_anonymous_space_serves_visitors(anonymous_space):
    result = ask(anonymous_space, visitor="visitor-7", store=True)

    assert not result.identified
    assert codes(result) == ["welcome-pack"]
    assert Proposition.objects.get().visitor_id == "visitor-7"


def test_unknown_contact_without_fallback_gets_nothing_and_a_reason(
    offer, space, contact
):
    result = ask(space, contact="424242", store=True)

    assert result.propositions == []
    assert "424242" in result.reason and "fallback" in result.reason
    assert not Proposition.objects.exists()

    result = ask(space)
    assert result.propositions == []
    assert result.reason


# 3. Scope


@pytest.fixture
def tree(environment, wide_space):
    """cards > gold > platinum, a sibling "loans", and one offer in each."""
    cards = make_category(environment, "cards", themes="Payment, Travel")
    gold = make_category(environment, "gold", parent=cards, themes="premium")
    platinum = make_category(environment, "platinum", parent=gold)
    loans = make_category(environment, "loans", themes="home")
    for category in (cards, gold, platinum, loans):
        make_offer(category, f"{category.code}-offer", spaces=[wide_space])
    return {c.code: c for c in (cards, gold, platinum, loans)}


def test_category_scope_includes_subcategories_not_siblings(tree, wide_space, contact):
    assert sorted(codes(ask(wide_space, contact, count=10, category="cards"))) == [
        "cards-offer",
        "gold-offer",
        "platinum-offer",
    ]
    assert sorted(codes(ask(wide_space, contact, count=10, category="gold"))) == [
        "gold-offer",
        "platinum-offer",
    ]
    assert codes(ask(wide_space, contact, count=10, category="loans")) == [
        "loans-offer"
    ]
    assert codes(ask(wide_space, contact, count=10, category="unknown")) == []


def test_themes_are_inherited_from_ancestors(tree, wide_space, contact):
    def by_themes(*themes):
        return sorted(codes(ask(wide_space, contact, count=10, themes=themes)))

    assert by_themes("travel") == ["cards-offer", "gold-offer", "platinum-offer"]
    assert by_themes("TRAVEL") == ["cards-offer", "gold-offer", "platinum-offer"]
    assert by_themes("premium") == ["gold-offer", "platinum-offer"]
    assert by_themes("premium", "home") == [
        "gold-offer",
        "loans-offer",
        "platinum-offer",
    ]
    assert by_themes("unknown") == []


def test_category_and_themes_together_are_a_union(tree, wide_space, contact):
    result = ask(wide_space, contact, count=10, category="platinum", themes=("home",))

    assert sorted(codes(result)) == ["loans-offer", "platinum-offer"]


def test_no_category_nor_theme_means_the_whole_environment(
    tree, wide_space, contact, other_environment
):
    other = make_category(other_environment, "elsewhere")
    make_offer(other, "other-env-offer", spaces=[wide_space])

    assert sorted(codes(ask(wide_space, contact, count=10))) == [
        "cards-offer",
        "gold-offer",
        "loans-offer",
        "platinum-offer",
    ]


def test_always_include_categories_join_every_call(
    environment, tree, wide_space, contact
):
    fallback = make_category(environment, "fallback", always_include=True)
    below = make_category(environment, "fallback-child", parent=fallback)
    make_offer(fallback, "fallback-offer", spaces=[wide_space])
    make_offer(below, "fallback-child-offer", spaces=[wide_space])
    expected_extra = ["fallback-child-offer", "fallback-offer"]

    assert sorted(codes(ask(wide_space, contact, count=10, category="loans"))) == [
        *expected_extra,
        "loans-offer",
    ]
    assert sorted(codes(ask(wide_space, contact, count=10, themes=("none",)))) == (
        expected_extra
    )
    assert len(codes(ask(wide_space, contact, count=10))) == 6


def test_space_default_category_is_used_when_the_call_gives_none(
    environment, tree, contact
):
    space = make_space(environment, "gold-corner", max_offers=10)
    space.default_category = tree["gold"]
    publish(space)
    for category in tree.values():
        offer = category.offers.get()
        offer.spaces.add(space)
        publish(offer)

    assert sorted(codes(ask(space, contact, count=10))) == [
        "gold-offer",
        "platinum-offer",
    ]
    # The call's own category wins over the default.
    assert codes(ask(space, contact, count=10, category="loans")) == ["loans-offer"]
    assert sorted(codes(ask(space, contact, count=10, themes=("home",)))) == [
        "loans-offer"
    ]


def test_space_default_themes_are_used_when_the_call_gives_none(
    environment, tree, contact
):
    space = make_space(environment, "home-corner", max_offers=10, default_themes="Home")
    for category in tree.values():
        offer = category.offers.get()
        offer.spaces.add(space)
        publish(offer)

    assert codes(ask(space, contact, count=10)) == ["loans-offer"]
    assert codes(ask(space, contact, count=10, category="platinum")) == [
        "platinum-offer"
    ]


# 4. Eligibility


def test_offer_not_on_this_space_is_not_a_candidate(environment, category, contact):
    here = make_space(environment, "here")
    there = make_space(environment, "there")
    make_offer(category, "here-offer", spaces=[here])
    make_offer(category, "there-offer", spaces=[there])
    make_offer(category, "nowhere-offer")

    result = ask(here, contact, count=3)

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
def test_offer_dates(category, space, contact, start, end, eligible):
    make_offer(category, spaces=[space], start_date=start, end_date=end)

    result = ask(space, contact)

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
def test_ancestor_category_dates(environment, space, contact, start, end, eligible):
    top = make_category(environment, "top", start_date=start, end_date=end)
    middle = make_category(environment, "middle", parent=top)
    leaf = make_category(environment, "leaf", parent=middle)
    make_offer(leaf, spaces=[space])

    result = ask(space, contact)

    assert codes(result) == (["gold-card"] if eligible else [])
    if not eligible:
        assert "outside the dates" in dropped(result)["gold-card"]


def test_disabled_ancestor_blocks_every_offer_below(environment, wide_space, contact):
    top = make_category(environment, "top")
    middle = make_category(environment, "middle", parent=top)
    leaf = make_category(environment, "leaf", parent=middle)
    make_offer(leaf, "leaf-offer", spaces=[wide_space])
    make_offer(top, "top-offer", spaces=[wide_space])
    assert len(codes(ask(wide_space, contact, count=5))) == 2

    middle.enabled = False
    publish(middle)

    result = ask(wide_space, contact, count=5)
    assert codes(result) == ["top-offer"]
    assert dropped(result) == {"leaf-offer": "category “middle” is disabled"}


def test_disabled_category_in_a_draft_does_not_apply_until_published(
    environment, wide_space, contact
):
    top = make_category(environment, "top")
    make_offer(top, "top-offer", spaces=[wide_space])

    top.enabled = False
    top.save_revision()

    assert codes(ask(wide_space, contact)) == ["top-offer"]


def test_unpublished_ancestor_blocks_every_offer_below(
    environment, wide_space, contact
):
    top = make_category(environment, "top")
    leaf = make_category(environment, "leaf", parent=top)
    make_offer(leaf, "leaf-offer", spaces=[wide_space])
    assert codes(ask(wide_space, contact)) == ["leaf-offer"]

    top.unpublish()

    result = ask(wide_space, contact)
    assert codes(result) == []
    assert dropped(result) == {"leaf-offer": "category “top” is not published"}


def test_offer_in_a_never_published_category_is_never_served(
    environment, space, contact
):
    draft = make_category(environment, "draft", live=False)
    make_offer(draft, spaces=[space])

    result = ask(space, contact)

    assert codes(result) == []
    assert "not published" in dropped(result)["gold-card"]


FRENCH = {"field": "country", "op": "=", "value": "FR"}
ADULT = {"field": "age", "op": ">=", "value": 18}
GOLDEN = {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}


def test_environment_target_filter(environment, offer, space):
    environment.target_filter = FRENCH
    environment.save()

    assert codes(ask(space, make_contact(country="FR"))) == ["gold-card"]
    result = ask(space, make_contact(country="DE"))
    assert codes(result) == []
    assert dropped(result) == {
        "gold-card": "contact does not match the target filter of the environment"
    }


def test_every_ancestor_category_target_filter(environment, space):
    top = make_category(environment, "top", target_filter=ADULT)
    leaf = make_category(environment, "leaf", parent=top, target_filter=FRENCH)
    make_offer(leaf, spaces=[space])

    assert codes(ask(space, make_contact(age=30, country="FR"))) == ["gold-card"]
    minor = ask(space, make_contact(age=16, country="FR"))
    assert dropped(minor) == {
        "gold-card": "contact does not match the target filter of category “top”"
    }
    german = ask(space, make_contact(age=30, country="DE"))
    assert dropped(german) == {
        "gold-card": "contact does not match the target filter of category “leaf”"
    }


def test_offer_target_filter(category, space):
    make_offer(category, spaces=[space], target_filter=GOLDEN)

    assert codes(ask(space, make_contact(loyalty_tier="platinum"))) == ["gold-card"]
    result = ask(space, make_contact(loyalty_tier="silver"))
    assert dropped(result) == {
        "gold-card": "contact does not match the target filter of the offer"
    }


def test_relative_date_filter_is_relative_to_the_contact_date(category, space):
    recent = {"field": "signup_date", "op": ">=", "value": {"today": -30}}
    make_offer(category, spaces=[space], target_filter=recent)
    newcomer = make_contact(signup_date=datetime.date(2026, 6, 1))

    assert codes(ask(space, newcomer)) == ["gold-card"]
    assert codes(ask(space, newcomer, date=NOW + 30 * DAY)) == []


def test_context_conditions(category, space, contact):
    mobile = {"field": "context.device", "op": "=", "value": "mobile"}
    make_offer(category, spaces=[space], target_filter=mobile)

    assert codes(ask(space, contact, context={"device": "mobile"})) == ["gold-card"]
    assert codes(ask(space, contact, context={"device": "desktop"})) == []
    assert codes(ask(space, contact)) == []


def test_required_content_missing_makes_the_offer_ineligible(
    environment, category, space, contact
):
    make_offer(category, "untitled", spaces=[space])
    make_offer(category, "titled", spaces=[space], title="Titled")
    assert sorted(codes(ask(space, contact, count=2))) == ["titled", "untitled"]

    # The space later starts to require a title.
    SpaceContentField.objects.create(space=space, field="title", required=True)
    publish(space)

    result = ask(space, contact, count=2)
    assert codes(result) == ["titled"]
    assert dropped(result) == {"untitled": "required content of the space is missing"}


# 5. Weights


def test_no_weight_rows_means_weight_one(offer, space, contact):
    assert weights(ask(space, contact)) == {"gold-card": 1.0}


def test_highest_applicable_row_wins(offer, space, contact):
    for value in (2, 5, 3):
        add_weight(offer, value)

    assert weights(ask(space, contact)) == {"gold-card": 5.0}


def test_weight_rows_by_date(offer, space, contact):
    add_weight(offer, 2)
    add_weight(offer, 10, end_date=NOW - DAY)
    add_weight(offer, 20, start_date=NOW + DAY)
    add_weight(offer, 5, start_date=NOW - DAY, end_date=NOW + DAY)

    assert weights(ask(space, contact)) == {"gold-card": 5.0}
    assert weights(ask(space, contact, date=NOW + 2 * DAY)) == {"gold-card": 20.0}
    assert weights(ask(space, contact, date=NOW - 2 * DAY)) == {"gold-card": 10.0}


def test_weight_rows_by_space(environment, category, contact):
    banner = make_space(environment, "banner")
    footer = make_space(environment, "footer")
    offer = make_offer(category, spaces=[banner, footer])
    add_weight(offer, 2)
    add_weight(offer, 7, space=footer)

    assert weights(ask(banner, contact)) == {"gold-card": 2.0}
    assert weights(ask(footer, contact)) == {"gold-card": 7.0}


def test_weight_rows_by_target_filter(offer, space):
    add_weight(offer, 2)
    add_weight(offer, 9, target_filter=FRENCH)

    assert weights(ask(space, make_contact(country="FR"))) == {"gold-card": 9.0}
    assert weights(ask(space, make_contact(country="DE"))) == {"gold-card": 2.0}


def test_weight_formulas_over_contact_fields_and_context(offer, space):
    add_weight(offer, "age / 10")
    add_weight(offer, "context.basket * 0.1")

    assert weights(ask(space, make_contact(age=40))) == {"gold-card": 4.0}
    rich = ask(space, make_contact(age=40), context={"basket": 200})
    assert weights(rich) == {"gold-card": 20.0}


def test_no_applicable_row_drops_the_offer(environment, offer, space, contact):
    elsewhere = make_space(environment, "elsewhere")
    add_weight(offer, 5, space=elsewhere)
    add_weight(offer, 5, target_filter={"field": "country", "op": "=", "value": "DE"})

    result = ask(space, contact)

    assert codes(result) == []
    assert "≤ 0" in dropped(result)["gold-card"]


@pytest.mark.parametrize("value", ["0", "-1", "age - 100", "context.missing"])
def test_weight_not_above_zero_drops_the_offer(offer, space, contact, value):
    add_weight(offer, value)

    result = ask(space, contact)

    assert codes(result) == []
    assert "≤ 0" in dropped(result)["gold-card"]


def test_formula_weight_drops_only_the_contacts_it_makes_non_positive(offer, space):
    add_weight(offer, "age - 30")

    assert weights(ask(space, make_contact(age=40))) == {"gold-card": 10.0}
    assert codes(ask(space, make_contact(age=30))) == []


def test_multipliers_of_ancestor_categories_active_on_the_date(
    environment, space, contact
):
    top = make_category(
        environment,
        "top",
        weight_multiplier=2.0,
        multiplier_start=NOW - DAY,
        multiplier_end=NOW + DAY,
    )
    leaf = make_category(environment, "leaf", parent=top, weight_multiplier=3.0)
    offer = make_offer(leaf, spaces=[space])
    add_weight(offer, 5)

    assert weights(ask(space, contact)) == {"gold-card": 30.0}
    # Outside the top category's multiplier dates only the leaf's applies.
    assert weights(ask(space, contact, date=NOW + 2 * DAY)) == {"gold-card": 15.0}
    assert weights(ask(space, contact, date=NOW - 2 * DAY)) == {"gold-card": 15.0}


def test_zero_multiplier_drops_the_offer(environment, space, contact):
    top = make_category(environment, "top", weight_multiplier=0.0)
    make_offer(top, spaces=[space])

    result = ask(space, contact)

    assert codes(result) == []
    assert "≤ 0" in dropped(result)["gold-card"]


# 7. Arbitration


def test_sorted_by_weight_highest_first(category, wide_space, contact):
    for code, weight in (("low", 1), ("high", 9), ("middle", 4)):
        add_weight(make_offer(category, code, spaces=[wide_space]), weight)

    result = ask(wide_space, contact, count=3)

    assert codes(result) == ["high", "middle", "low"]
    assert [p.rank for p in result.propositions] == [1, 2, 3]
    assert [p.weight for p in result.propositions] == [9.0, 4.0, 1.0]


@pytest.fixture
def five_ties(category, wide_space):
    """Five offers of equal weight, plus one heavier."""
    add_weight(make_offer(category, "heavy", spaces=[wide_space]), 2)
    for number in range(5):
        make_offer(category, f"tie-{number}", spaces=[wide_space])


def test_ties_are_ordered_by_the_seed_reproducibly(five_ties, wide_space, contact):
    def order(seed):
        return codes(ask(wide_space, contact, count=6, seed=seed))

    orders = {seed: order(seed) for seed in range(12)}

    for seed, ranked in orders.items():
        assert ranked[0] == "heavy"
        assert sorted(ranked[1:]) == [f"tie-{n}" for n in range(5)]
        assert order(seed) == ranked
    assert len({tuple(ranked) for ranked in orders.values()}) > 3


def test_ties_alternate_between_calls_without_a_seed(five_ties, wide_space, contact):
    firsts = {codes(ask(wide_space, contact, count=2))[1] for _ in range(30)}

    assert len(firsts) > 1


def test_count_is_capped_by_the_space_maximum(environment, category, contact):
    space = make_space(environment, "narrow", max_offers=2)
    for number in range(4):
        add_weight(make_offer(category, f"offer-{number}", spaces=[space]), number + 1)

    assert codes(ask(space, contact, count=1)) == ["offer-3"]
    assert codes(ask(space, contact, count=2)) == ["offer-3", "offer-2"]
    result = ask(space, contact, count=10)
    assert codes(result) == ["offer-3", "offer-2"]
    assert dropped(result) == {
        "offer-1": "ranked beyond the 2 offer(s) shown",
        "offer-0": "ranked beyond the 2 offer(s) shown",
    }
    assert codes(ask(space, contact, count=0)) == []


def test_an_offer_appears_once(environment, category, contact):
    """Several applicable rows and spaces never duplicate an offer."""
    space = make_space(environment, "many", max_offers=10)
    other = make_space(environment, "other")
    offer = make_offer(category, spaces=[space, other])
    add_weight(offer, 2)
    add_weight(offer, 2)
    add_weight(offer, 3, space=space)

    result = ask(space, contact, count=10, category="cards", themes=("x",))

    assert codes(result) == ["gold-card"]
    assert weights(result) == {"gold-card": 3.0}


# Live content only


def test_draft_changes_are_never_served(offer, space, contact):
    offer.title = "New title"
    offer.target_filter = {"field": "country", "op": "=", "value": "DE"}
    offer.save_revision()

    result = ask(space, contact)

    assert codes(result) == ["gold-card"]
    assert result.propositions[0].offer.title == "Gold card"
    assert result.propositions[0].content.get("title", "Gold card") == "Gold card"


def test_draft_weights_are_never_used(offer, space, contact):
    add_weight(offer, 4)
    row = offer.weights.get()
    offer.weights.remove(row)
    offer.weights.add(OfferWeight(value="50"))
    offer.save_revision()

    assert weights(ask(space, contact)) == {"gold-card": 4.0}


def test_never_published_offer_never_appears(category, space, contact):
    make_offer(category, "draft-offer", spaces=[space], live=False)

    result = ask(space, contact)

    assert result.propositions == []
    assert result.trace == []


# Trace


def test_the_trace_explains_every_candidate(environment, wide_space):
    environment.target_filter = ADULT
    environment.save()
    category = make_category(environment, "cards")
    disabled = make_category(environment, "closed", enabled=False)
    make_offer(category, "kept", spaces=[wide_space])
    make_offer(category, "expired", spaces=[wide_space], end_date=NOW - DAY)
    make_offer(category, "for-french", spaces=[wide_space], target_filter=FRENCH)
    make_offer(disabled, "in-closed", spaces=[wide_space])
    add_weight(make_offer(category, "zero", spaces=[wide_space]), 0)
    make_offer(category, "on-another-space")

    result = ask(wide_space, make_contact(country="DE", age=30), count=5)

    assert codes(result) == ["kept"]
    assert [d for d in result.trace if d.kept][0].rank == 1
    reasons = dropped(result)
    assert set(reasons) == {"expired", "for-french", "in-closed", "zero"}
    assert "outside the dates" in reasons["expired"]
    assert "target filter of the offer" in reasons["for-french"]
    assert "“closed” is disabled" in reasons["in-closed"]
    assert "≤ 0" in reasons["zero"]
    assert all(reason for reason in reasons.values())

    minor = ask(wide_space, make_contact(country="FR", age=12), count=5)
    assert "target filter of the environment" in dropped(minor)["kept"]
