"""Global capping never exceeds its budget under concurrent calls (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from interaction.delivery import propose as services
from interaction.delivery import snapshot
from interaction.engine.call import Call
from interaction.models import CapUsage, OfferWeight, Proposition, TypologyRule
from tests.builders import (
    make_category,
    make_contact,
    make_offer,
    make_space,
    publish,
)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

CALLS = 32
BUDGET = 5


def run_concurrently(calls):
    """Run every ``Call`` in its own thread, all released at once."""
    barrier = threading.Barrier(len(calls))
    errors, results = [], []

    def worker(call):
        try:
            barrier.wait(timeout=30)
            results.append(services.propose(call, store=True))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return results


def capped_catalogue(environment):
    space = make_space(environment, "budget-banner", max_offers=2)
    category = make_category(environment, "cards")
    capped = make_offer(category, "capped", spaces=[space])
    OfferWeight.objects.create(offer=capped, value="10")
    publish(capped)
    free = make_offer(category, "free", spaces=[space])
    TypologyRule.objects.create(
        environment=environment,
        code="budget",
        label="Budget",
        global_capping=True,
        quantity=BUDGET,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": "capped"},
    )
    return space, capped, free


def test_global_capping_holds_under_concurrent_contacts(environment):
    space, capped, free = capped_catalogue(environment)
    contacts = [make_contact() for _ in range(CALLS)]
    snapshot.get_snapshot()

    results = run_concurrently(
        [
            Call(space=space.code, contact=str(contact.pk), count=2)
            for contact in contacts
        ]
    )

    assert len(results) == CALLS
    assert Proposition.objects.filter(offer=capped).count() == BUDGET
    assert Proposition.objects.filter(offer=free).count() == CALLS
    # What each caller was told matches what was stored, ranks included.
    told = [p for result in results for p in result.propositions]
    assert sum(p.offer.code == "capped" for p in told) == BUDGET
    assert all(p.id is not None for p in told)
    for result in results:
        assert [p.rank for p in result.propositions] == list(
            range(1, len(result.propositions) + 1)
        )
        assert result.propositions[0].offer.code in ("capped", "free")
    stored_ranks = {
        (row.interaction_id, row.offer_code): row.rank
        for row in Proposition.objects.all()
    }
    for result in results:
        for p in result.propositions:
            assert stored_ranks[(result.interaction_id, p.offer.code)] == p.rank


def test_global_capping_holds_for_visitors_with_a_cold_snapshot(
    anonymous_environment,
):
    space, capped, free = capped_catalogue(anonymous_environment)
    snapshot.invalidate()

    run_concurrently(
        [
            Call(space=space.code, visitor=f"visitor-{number}", count=2)
            for number in range(CALLS)
        ]
    )

    assert Proposition.objects.filter(offer=capped).count() == BUDGET
    assert Proposition.objects.filter(offer=free).count() == CALLS
    assert (
        Proposition.objects.filter(offer=capped).values("visitor_id").distinct().count()
        == BUDGET
    )


def test_an_offer_over_its_cap_at_storage_gives_its_place_to_the_next(environment):
    """Count 1: every caller ranks the capped offer first, most find it gone
    when they store; each must then get the uncapped offer, never nothing."""
    space, capped, free = capped_catalogue(environment)
    contacts = [make_contact() for _ in range(CALLS)]
    snapshot.get_snapshot()

    results = run_concurrently(
        [
            Call(space=space.code, contact=str(contact.pk), count=1)
            for contact in contacts
        ]
    )

    assert [len(result.propositions) for result in results] == [1] * CALLS
    assert Proposition.objects.filter(offer=capped).count() == BUDGET
    assert Proposition.objects.filter(offer=free).count() == CALLS - BUDGET
    assert all(result.propositions[0].rank == 1 for result in results)
    # What refused calls took was given back: the counter holds the budget.
    assert CapUsage.objects.get(offer=capped).used == BUDGET
