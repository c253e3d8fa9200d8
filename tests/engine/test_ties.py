"""Ties (SPEC §5 step 7): offers of equal weight in a random order that a seed
fixes per contact (a key per (seed, contact, offer)), so a batch run, a
preview and inbound calls with the same seed agree contact by contact while
contacts still get different orders."""

import random

import pytest

from interaction.engine import ties
from tests.builders import codes


@pytest.fixture
def space(world):
    space = world.space("web", max_offers=1)
    for code in ("a", "b", "c", "d"):
        world.offer(code, spaces=[space], weights=["5"])
    return space


def test_a_seed_gives_the_same_contact_the_same_order(world, space):
    contact = world.contact()

    first = [codes(world.ask(space, contact, seed=seed)) for seed in range(20)]
    again = [codes(world.ask(space, contact, seed=seed)) for seed in range(20)]

    assert first == again
    assert len({tuple(shown) for shown in first}) > 1


def test_one_seed_gives_contacts_orders_of_their_own(world, space):
    contacts = [world.contact() for _ in range(40)]

    shown = [codes(world.ask(space, contact, seed=7))[0] for contact in contacts]

    assert set(shown) == {"a", "b", "c", "d"}


def test_tie_keys_depend_on_seed_contact_and_offer_only():
    assert ties.tie_key(3, "42", 7) == ties.tie_key(3, "42", 7)
    assert ties.tie_keys(3, "42")(7) == ties.tie_key(3, "42", 7)
    assert ties.tie_key(3, "42", 7) != ties.tie_key(3, "43", 7)
    assert ties.tie_key(3, "42", 7) != ties.tie_key(4, "42", 7)
    assert ties.tie_key(3, "42", 7) != ties.tie_key(3, "42", 8)
    assert 0 <= ties.tie_key(3, "42", 7) < 1


def test_a_preview_and_a_call_with_the_same_seed_order_ties_alike(world, space):
    """The preview evaluates every offer; a call ranks only what it shows."""
    contact = world.contact()
    for seed in range(20):
        shown = codes(world.ask(space, contact, seed=seed, explain=False))
        previewed = codes(world.ask(space, contact, seed=seed, explain=True))
        assert shown == previewed


@pytest.mark.parametrize("little_endian", [True, False])
@pytest.mark.parametrize("count", [None, 0, 1, 57, 300])
def test_a_groups_keys_computed_at_once_are_each_offers_key(
    count, little_endian, monkeypatch
):
    """``Ties.of`` (a whole group's keys, for big spaces) gives exactly the keys
    of the offers one by one, in their order, the first ``count`` of them, on
    a machine of either byte order."""
    monkeypatch.setattr(ties, "_LITTLE_ENDIAN", little_endian)
    rng = random.Random(count)
    ids = [0, 1, 2**63 - 1] + [rng.randrange(1, 2**40) for _ in range(197)]
    packed = ties.Ids(ids)
    for seed in range(20):
        keys = ties.tie_keys(seed, str(seed * 7))
        expected = [keys(offer_id) for offer_id in ids]
        assert keys.of(packed, count) == expected[:count]
    assert ties.tie_keys(1, "").of(ties.Ids([])) == []
