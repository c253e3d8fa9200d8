"""The compiled live catalogue: what published rows compile into (what the
engine tests of ``tests/engine/`` build in memory), rebuilt after every live
change, and only then."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from interaction.delivery import propose as services
from interaction.delivery import snapshot
from interaction.engine.call import Call
from interaction.engine.errors import UnknownSpace
from interaction.engine.evaluation import Multiplier, TargetFilter, WeightRow, Window
from interaction.models import Offer, TypologyRule
from tests.builders import (
    DAY,
    NOW,
    add_weight,
    ask,
    codes,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    make_space,
    publish,
    record,
)
from tests.engine.catalogue import CONTACT_KINDS

FRENCH = {"field": "country", "op": "=", "value": "FR"}
ADULT = {"field": "age", "op": ">=", "value": 18}
GOLDEN = {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}


@pytest.fixture
def contact(db):
    return make_contact()


def live_codes(space, contact):
    """What a real-time call returns now (the contact date is the real now)."""
    result = services.propose(
        Call(space=space.code, contact=str(contact.pk), count=10), store=False
    )
    return sorted(codes(result))


def titles(space, contact):
    result = services.propose(
        Call(space=space.code, contact=str(contact.pk), count=10), store=False
    )
    return [p.offer.title for p in result.propositions]


def test_snapshot_is_reused_while_nothing_changes(offer, space, contact):
    first = snapshot.get_snapshot()

    live_codes(space, contact)
    services.propose(Call(space=space.code, contact=str(contact.pk)), store=True)
    offer.title = "Draft title"
    offer.save_revision()
    make_offer(offer.category, "draft-only", spaces=[space], live=False)

    assert snapshot.get_snapshot() is first
    assert live_codes(space, contact) == ["gold-card"]


def test_invalidate_rebuilds_once(offer, space):
    first = snapshot.get_snapshot()

    snapshot.invalidate()
    second = snapshot.get_snapshot()

    assert second is not first
    assert snapshot.get_snapshot() is second


def test_publishing_a_new_offer(offer, space, contact):
    assert live_codes(space, contact) == ["gold-card"]

    new = make_offer(offer.category, "silver-card", spaces=[space], live=False)
    assert live_codes(space, contact) == ["gold-card"]
    publish(new)

    assert live_codes(space, contact) == ["gold-card", "silver-card"]


def test_unpublishing_an_offer(offer, space, contact):
    assert live_codes(space, contact) == ["gold-card"]

    offer.unpublish()

    assert live_codes(space, contact) == []


def test_deleting_an_offer_keeps_its_history(offer, space, contact):
    record(offer, space, contact)
    assert live_codes(space, contact) == ["gold-card"]

    Offer.objects.get(pk=offer.pk).delete()

    assert live_codes(space, contact) == []
    stored = offer.propositions.model.objects.get()
    assert stored.offer_id is None
    assert stored.offer_code == "gold-card"


def test_editing_and_publishing_a_live_offer(offer, space, contact):
    assert titles(space, contact) == ["Gold card"]

    offer.title = "Platinum card"
    revision = offer.save_revision()
    assert titles(space, contact) == ["Gold card"]

    revision.publish()

    assert titles(space, contact) == ["Platinum card"]


def test_moving_an_offer_off_a_space(environment, offer, space, contact):
    other = make_space(environment, "other")
    offer.spaces.set([other])
    publish(offer)

    assert live_codes(space, contact) == []
    assert live_codes(other, contact) == ["gold-card"]


def test_category_changes(environment, offer, space, contact, category):
    category.enabled = False
    category.save_revision()
    assert live_codes(space, contact) == ["gold-card"]

    publish(category)
    assert live_codes(space, contact) == []

    category.enabled = True
    publish(category)
    assert live_codes(space, contact) == ["gold-card"]

    category.unpublish()
    assert live_codes(space, contact) == []


def test_space_changes(environment, offer, space, contact):
    space.unpublish()
    with pytest.raises(UnknownSpace):
        live_codes(space, contact)

    publish(space)
    assert live_codes(space, contact) == ["gold-card"]


def test_typology_and_environment_changes(environment, offer, space, contact):
    record(offer, space, contact, when=timezone.now())
    rule = TypologyRule.objects.create(
        environment=environment, code="once", label="Once", quantity=1
    )
    assert live_codes(space, contact) == []

    rule.active = False
    rule.save()
    assert live_codes(space, contact) == ["gold-card"]

    environment.target_filter = {"field": "country", "op": "=", "value": "DE"}
    environment.save()
    assert live_codes(space, contact) == []


def test_scheduled_go_live(category, space, contact):
    offer = make_offer(category, "scheduled", spaces=[space], live=False)
    past = timezone.now() - datetime.timedelta(minutes=5)
    offer.go_live_at = past
    offer.save_revision(approved_go_live_at=past)
    assert live_codes(space, contact) == []
    first = snapshot.get_snapshot()

    call_command("publish_scheduled", verbosity=0)

    assert Offer.objects.get(pk=offer.pk).live
    assert snapshot.get_snapshot() is not first
    assert live_codes(space, contact) == ["scheduled"]


def test_scheduled_go_live_of_a_new_version(offer, space, contact):
    past = timezone.now() - datetime.timedelta(minutes=5)
    offer.title = "Summer card"
    offer.save_revision(approved_go_live_at=past)
    assert titles(space, contact) == ["Gold card"]

    call_command("publish_scheduled", verbosity=0)

    assert titles(space, contact) == ["Summer card"]


def test_scheduled_expiry(offer, space, contact):
    assert live_codes(space, contact) == ["gold-card"]
    Offer.objects.filter(pk=offer.pk).update(
        expire_at=timezone.now() - datetime.timedelta(minutes=5)
    )

    call_command("publish_scheduled", verbosity=0)

    expired = Offer.objects.get(pk=offer.pk)
    assert not expired.live and expired.expired
    assert live_codes(space, contact) == []


def test_scheduled_expiry_of_a_category(environment, space, contact):
    top = make_category(environment, "top")
    leaf = make_category(environment, "leaf", parent=top)
    make_offer(leaf, spaces=[space])
    assert live_codes(space, contact) == ["gold-card"]
    top.__class__.objects.filter(pk=top.pk).update(
        expire_at=timezone.now() - datetime.timedelta(minutes=5)
    )

    call_command("publish_scheduled", verbosity=0)

    assert live_codes(space, contact) == []


# What published rows compile into


def compiled_offer(code):
    catalogue = snapshot.get_snapshot().catalogue
    return next(
        offer
        for environment in catalogue.environments.values()
        for offer in environment.offers
        if offer.code == code
    )


def test_themes_are_inherited_from_ancestors(environment, space):
    """And so are the scope of a category and "always include"."""
    cards = make_category(environment, "cards", themes="Payment, Travel")
    gold = make_category(
        environment, "gold", parent=cards, themes="premium", always_include=True
    )
    platinum = make_category(environment, "platinum", parent=gold)
    loans = make_category(environment, "loans", themes="home")
    make_offer(platinum, spaces=[space])
    make_offer(loans, "loan", spaces=[space])

    offer = compiled_offer("gold-card")
    assert offer.category_ids == (platinum.pk, gold.pk, cards.pk)
    assert (offer.category_id, offer.category_code) == (platinum.pk, "platinum")
    assert offer.themes == {"payment", "travel", "premium"}
    assert offer.always_include
    assert offer.space_ids == {space.pk}
    loan = compiled_offer("loan")
    assert loan.category_ids == (loans.pk,)
    assert loan.themes == {"home"}
    assert not loan.always_include
    catalogue = snapshot.get_snapshot().catalogue
    assert catalogue.environments[environment.pk].categories_by_code == {
        "cards": cards.pk,
        "gold": gold.pk,
        "platinum": platinum.pk,
        "loans": loans.pk,
    }
    assert catalogue.offers_by_space[space.pk] == (
        compiled_offer("gold-card"),
        compiled_offer("loan"),
    )


def test_dates_filters_and_multipliers_of_every_category_above(environment, space):
    environment.target_filter = FRENCH
    environment.save()
    top = make_category(
        environment,
        "top",
        start_date=NOW - 5 * DAY,
        end_date=NOW + 5 * DAY,
        target_filter=ADULT,
        weight_multiplier=2.0,
        multiplier_start=NOW - DAY,
        multiplier_end=NOW + DAY,
    )
    leaf = make_category(
        environment, "leaf", parent=top, end_date=NOW + 2 * DAY, weight_multiplier=3
    )
    plain = make_category(environment, "plain", parent=leaf)
    make_offer(plain, spaces=[space], start_date=NOW - 9 * DAY, target_filter=GOLDEN)

    terms = compiled_offer("gold-card").terms
    assert terms.blocked == ""
    assert terms.window == Window(NOW - 5 * DAY, NOW + 2 * DAY)
    assert terms.filters == (
        TargetFilter("the environment", FRENCH),
        TargetFilter("category “top”", ADULT),
        TargetFilter("the offer", GOLDEN),
    )
    assert terms.multipliers == (
        Multiplier(3.0, Window()),
        Multiplier(2.0, Window(NOW - DAY, NOW + DAY)),
    )
    assert terms.kinds == CONTACT_KINDS
    assert terms.incomplete_space_ids == frozenset()


def test_weight_rows_compile_from_the_published_rows(offer, space):
    add_weight(offer, 2)
    add_weight(
        offer,
        "age / 10",
        space=space,
        start_date=NOW,
        end_date=NOW + DAY,
        target_filter=FRENCH,
    )

    rows = compiled_offer("gold-card").terms.weight_rows
    assert sorted(rows, key=lambda row: row.formula) == [
        WeightRow("2"),
        WeightRow("age / 10", Window(NOW, NOW + DAY), space.pk, FRENCH),
    ]


def test_spaces_compile_from_the_published_rows(
    environment, anonymous_environment, category
):
    visitors = make_space(anonymous_environment, "visitor-banner")
    make_space(
        environment,
        "corner",
        channel="email",
        real_time=False,
        max_offers=4,
        identification_fields="email, country",
        fallback_space=visitors,
        default_category=category,
        default_themes="Travel, summer",
    )

    corner = snapshot.get_snapshot().catalogue.spaces["corner"]
    assert corner.environment_id == environment.pk
    assert (corner.channel, corner.real_time, corner.max_offers) == ("email", False, 4)
    assert corner.identification_fields == ("email", "country")
    assert corner.fallback_space_code == "visitor-banner"
    assert corner.default_category_id == category.pk
    assert corner.default_themes == ("travel", "summer")
    assert snapshot.get_snapshot().catalogue.spaces[
        "visitor-banner"
    ].identification_fields == ("pk",)

    visitors.unpublish()

    spaces = snapshot.get_snapshot().catalogue.spaces
    assert "visitor-banner" not in spaces
    assert spaces["corner"].fallback_space_code is None


def test_rules_compile_from_active_rows(environment, other_environment, space):
    cards = make_category(environment, "cards", themes="travel")
    loans = make_category(environment, "loans")
    gold = make_offer(cards, "gold", spaces=[space])
    mortgage = make_offer(loans, "mortgage", spaces=[space])
    make_rule(
        environment,
        "cards-rule",
        period_days=1,
        period_hours=6,
        counted_statuses="answered",
        offer_condition={"field": "offer.category", "op": "=", "value": "cards"},
        contact_condition=FRENCH,
    )
    make_rule(
        environment,
        "by-code",
        period_days=10,
        offer_condition={"field": "offer.code", "op": "in", "value": ["mortgage"]},
    )
    make_rule(
        environment,
        "themed",
        period_days=2,
        counted_offers="category",
        offer_condition={"field": "offer.themes", "op": "contains", "value": "travel"},
    )
    make_rule(environment, "budget", global_capping=True, period_days=30)
    make_rule(environment, "off", active=False, period_days=60)
    make_rule(other_environment, "elsewhere", period_days=90)

    compiled = snapshot.get_snapshot().catalogue.environments[environment.pk]
    rules = {rule.code: rule for rule in compiled.rules}
    assert set(rules) == {"cards-rule", "by-code", "themed", "budget"}
    cards_rule = rules["cards-rule"]
    assert cards_rule.period == datetime.timedelta(days=1, hours=6)
    assert cards_rule.counted_statuses == {"accepted", "rejected"}
    assert cards_rule.offer_ids == {gold.pk}
    assert cards_rule.applies_to_contact({"country": "FR"}, NOW.date())
    assert not cards_rule.applies_to_contact({"country": "DE"}, NOW.date())
    assert rules["by-code"].offer_ids == {mortgage.pk}
    assert rules["by-code"].counted_statuses is None
    assert rules["by-code"].applies_to_contact is None
    assert rules["themed"].offer_ids == {gold.pk}
    assert rules["themed"].counted_offers == "category"
    assert rules["budget"].global_capping and rules["budget"].offer_ids is None


def test_numeric_fields_are_bounded_by_the_dimensions_extremes(environment):
    make_contact(age=19)
    make_contact(age=77)

    compiled = snapshot.get_snapshot().catalogue.environments[environment.pk]

    assert compiled.field_domains["age"] == (19, 77)
    assert "country" not in compiled.field_domains


def test_a_contact_beyond_the_extremes_is_ranked_by_every_offer(environment):
    """Bounds come from the contacts at build time; one added later, older
    than all, must still get the offer its age makes heaviest."""
    space = make_space(environment, "banner", max_offers=1)
    category = make_category(environment)
    add_weight(make_offer(category, "young", spaces=[space]), "100 - age / 10")
    add_weight(make_offer(category, "old", spaces=[space]), "age")
    make_contact(age=20)
    make_contact(age=30)
    snapshot.get_snapshot()

    late = make_contact(age=95)

    assert codes(ask(space, late, explain=False)) == ["old"]
    assert codes(ask(space, make_contact(age=25), explain=False)) == ["young"]
