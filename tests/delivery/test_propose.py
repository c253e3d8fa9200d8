"""``interaction.delivery.propose`` against the database: what the engine gets
from published rows (live versions only, category chains, required content),
the database directory (identification), and what a call stores.

The engine's decisions themselves are tested in memory in ``tests/engine/``.
"""

import pytest

from interaction.engine.errors import UnknownSpace
from interaction.models import OfferWeight, Proposition, SpaceContentField
from tests.builders import (
    add_weight,
    ask,
    codes,
    dropped,
    make_category,
    make_contact,
    make_offer,
    make_space,
    publish,
    weights,
)


@pytest.fixture
def contact(db):
    return make_contact()


@pytest.fixture
def wide_space(environment):
    """A space that can show up to ten offers."""
    return make_space(environment, "wide", max_offers=10)


# Live spaces only


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


# Identification by the database directory, and what is stored


def test_identified_by_primary_key(contact, offer, space):
    result = ask(space, contact, store=True)

    assert result.identified
    assert codes(result) == ["gold-card"]
    assert Proposition.objects.get().contact_key == str(contact.pk)


@pytest.mark.parametrize("contact_id", ["999999", "not-a-number"])
def test_unknown_primary_key_is_not_identified(contact, offer, space, contact_id):
    """No row, or not even a valid primary key: the directory finds no one."""
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

    result = ask(space, contact="ada@example.com|FR", store=True)
    assert result.identified
    assert Proposition.objects.get().contact_key == str(ada.pk)
    assert not ask(space, contact="ada@example.com|DE").identified


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


def test_anonymous_space_serves_visitors(anonymous_space):
    result = ask(anonymous_space, visitor="visitor-7", store=True)

    assert not result.identified
    assert codes(result) == ["welcome-pack"]
    assert Proposition.objects.get().visitor_id == "visitor-7"


# Category chains: only published, enabled categories serve their offers


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
