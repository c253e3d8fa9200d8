"""Batch choosing (SPEC §6) on an in-memory catalogue: a run proposes what
inbound calls propose contact by contact, and shares global caps set-based.

The database side (reading a chunk, writing it, caps under concurrency) is in
``tests/campaigns/``.
"""

import random

import pytest

from interaction.engine import batch, core
from interaction.engine.call import Call, Contact
from tests.builders import DAY, NOW
from tests.engine.catalogue import World


def batch_contacts(world, contacts, space, date=NOW):
    """The contacts as a chunk reads them: attributes and history."""
    request = _request(world, space, date)
    return [
        Contact(
            str(c.pk), dict(c.values), world.history.read(1, str(c.pk), False, request)
        )
        for c in contacts
    ]


def _request(world, space, date):
    environment = world.catalogue().environments[space.environment_id]
    return core.history_request(environment, space, date)


def random_world(rng):
    world = World()
    space = world.space("mailing", max_offers=rng.randint(1, 5), real_time=False)
    offers = []
    for number in range(rng.randint(3, 12)):
        filters = []
        if rng.random() < 0.4:
            filters.append(
                ("offer", {"field": "age", "op": ">=", "value": rng.randint(18, 60)})
            )
        weights = [str(rng.choice([1, 2, 2, 3, 5]))]
        if rng.random() < 0.3:
            weights = ["age / 10"]
        offers.append(
            world.offer(
                f"offer-{number}",
                spaces=[space],
                category=rng.choice(["cards", "loans", "cards/gold"]),
                filters=filters,
                weights=weights,
            )
        )
    world.rule("once-a-week", quantity=1, days=7)
    if rng.random() < 0.5:
        world.rule("two-per-category", counted_offers="category", quantity=2, days=30)
    contacts = [
        world.contact(age=rng.randint(16, 80), country=rng.choice(["FR", "BE", "DE"]))
        for _ in range(rng.randint(5, 30))
    ]
    for contact in contacts:
        for _ in range(rng.randint(0, 2)):
            world.history.record(
                rng.choice(offers),
                space,
                contact,
                when=NOW - rng.randint(0, 40) * DAY,
            )
    return world, space, contacts


@pytest.mark.parametrize("case", range(30))
def test_a_batch_proposes_what_inbound_calls_propose_contact_by_contact(case):
    rng = random.Random(case)
    world, space, contacts = random_world(rng)
    seed = rng.randrange(2**40)
    count = rng.randint(1, 6)
    category = rng.choice([None, None, "cards"])
    catalogue = world.catalogue()

    choices = batch.choose_for_contacts(
        catalogue,
        Call(space=space.code, count=count, category=category, date=NOW, seed=seed),
        batch_contacts(world, contacts, space),
    )

    for contact, choice in zip(contacts, choices, strict=True):
        inbound = world.ask(
            space, contact, count=count, category=category, seed=seed, real_time=False
        )
        assert choice.contact.key == str(contact.pk)
        assert [(p.offer.code, p.rank, p.weight) for p in choice.proposals] == [
            (p.offer.code, p.rank, p.weight) for p in inbound.proposals
        ]


def test_the_seed_orders_ties_per_contact():
    world = World()
    space = world.space("mailing", max_offers=1)
    for code in "abcdef":
        world.offer(code, spaces=[space], weights=["1"])
    contacts = [world.contact() for _ in range(60)]
    chunk = batch_contacts(world, contacts, space)
    call = Call(space=space.code, date=NOW, seed=11)

    first = batch.choose_for_contacts(world.catalogue(), call, chunk)
    again = batch.choose_for_contacts(world.catalogue(), call, chunk)

    shown = [choice.proposals[0].offer.code for choice in first]
    assert shown == [choice.proposals[0].offer.code for choice in again]
    assert set(shown) == set("abcdef")  # contacts get orders of their own


@pytest.fixture
def capped_world():
    world = World()
    space = world.space("mailing", max_offers=2)
    scarce = world.offer("scarce", spaces=[space], weights=["age"])
    common = world.offer("common", spaces=[space], weights=["1"])
    spare = world.offer("spare", spaces=[space], weights=["0.5"])
    rule = world.rule("budget", global_capping=True, quantity=2, offers=[scarce])
    return world, space, rule, (scarce, common, spare)


def test_a_scarce_offer_goes_to_the_contacts_it_weighs_most_for(capped_world):
    world, space, rule, (scarce, _common, _spare) = capped_world
    contacts = [world.contact(age=age) for age in (30, 70, 50, 20)]
    chunk = batch_contacts(world, contacts, space)
    outcomes = batch.rank_contacts(
        world.catalogue(), Call(space=space.code, count=2, date=NOW, seed=1), chunk
    )
    assert set(batch.counters_needed(outcomes)) == {(rule.id, scarce.id)}

    allocation = batch.allocate(outcomes, chunk, {(rule.id, scarce.id): 2})

    got = {
        choice.contact.attributes["age"]: [p.offer.code for p in choice.proposals]
        for choice in allocation.choices
    }
    assert got == {
        70: ["scarce", "common"],
        50: ["scarce", "common"],
        # Refused the scarce offer: the next ones of their ranking instead.
        30: ["common", "spare"],
        20: ["common", "spare"],
    }
    assert allocation.taken == {(rule.id, scarce.id): 2}


def test_a_used_up_budget_grants_nothing(capped_world):
    world, space, rule, (scarce, _common, _spare) = capped_world
    chunk = batch_contacts(world, [world.contact(age=90)], space)
    outcomes = batch.rank_contacts(
        world.catalogue(), Call(space=space.code, count=1, date=NOW, seed=1), chunk
    )

    allocation = batch.allocate(outcomes, chunk, {(rule.id, scarce.id): 0})

    assert [p.offer.code for p in allocation.choices[0].proposals] == ["common"]
    assert allocation.taken == {}


def test_excluded_contacts_give_their_share_of_a_budget_to_the_next(capped_world):
    world, space, rule, (scarce, common, spare) = capped_world
    world.offers.remove(spare)
    world.rule("once-a-week", quantity=1, days=7)
    oldest, middle, youngest = (world.contact(age=age) for age in (80, 60, 40))
    # The oldest had the common offer this week: the scarce one is its only
    # offer, so it is excluded and its unit of the budget goes to the next.
    world.history.record(common, space, oldest)
    chunk = batch_contacts(world, [oldest, middle, youngest], space)
    outcomes = batch.rank_contacts(
        world.catalogue(), Call(space=space.code, count=2, date=NOW, seed=1), chunk
    )

    allocation = batch.allocate(outcomes, chunk, {(rule.id, scarce.id): 1}, minimum=2)

    got = [
        (c.excluded, [p.offer.code for p in c.proposals]) for c in allocation.choices
    ]
    assert got == [
        (True, []),
        (False, ["scarce", "common"]),
        (True, []),  # the budget is gone: one offer only
    ]
    assert allocation.taken == {(rule.id, scarce.id): 1}


def test_without_caps_contacts_with_fewer_offers_are_excluded():
    world = World()
    space = world.space("mailing", max_offers=3)
    world.offer("all", spaces=[space], weights=["2"])
    world.offer(
        "adults",
        spaces=[space],
        filters=[("offer", {"field": "age", "op": ">=", "value": 18})],
    )
    contacts = [world.contact(age=40), world.contact(age=12)]
    chunk = batch_contacts(world, contacts, space)

    choices = batch.choose_for_contacts(
        world.catalogue(),
        Call(space=space.code, count=2, date=NOW, seed=3),
        chunk,
        minimum=2,
    )

    assert [(c.excluded, len(c.proposals)) for c in choices] == [(False, 2), (True, 0)]


def test_a_batch_call_needs_a_date():
    world = World()
    space = world.space("mailing")
    with pytest.raises(ValueError):
        batch.rank_contacts(world.catalogue(), Call(space=space.code), [])
