"""The compiled live catalogue is rebuilt after every live change, and only then."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from interaction.delivery import propose as services
from interaction.delivery import snapshot
from interaction.engine.call import Call
from interaction.engine.errors import UnknownSpace
from interaction.models import Offer, TypologyRule

from .conftest import make_category, make_offer, make_space, publish
from .test_engine_eligibility import codes, make_contact, record


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
