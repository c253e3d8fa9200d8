"""Global capping counters: started from the table when a rule is saved, taken
when storing, moved with statuses, per period. Concurrency is in
``test_capping.py`` (PostgreSQL); the rules' decisions in memory in
``tests/engine/test_typology.py``."""

import datetime

import pytest
from django.db import DatabaseError
from django.utils import timezone

from interaction.delivery import caps, storage
from interaction.engine import typology
from interaction.models import CapUsage, OfferWeight, Proposition
from tests.builders import (
    DAY,
    NOW,
    ask,
    codes,
    dropped,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    make_space,
    publish,
    record,
)


@pytest.fixture
def web(environment):
    return make_space(environment, "web-banner", channel="web", max_offers=10)


@pytest.fixture
def offers(environment, web):
    cards = make_category(environment, "cards")
    return {code: make_offer(cards, code, spaces=[web]) for code in ("gold", "silver")}


def weight(offer, formula):
    OfferWeight.objects.create(offer=offer, value=formula)
    publish(offer)


def used(rule, offer):
    """How much of ``offer``'s budget is used (0 when it has no counter yet)."""
    return sum(
        CapUsage.objects.filter(rule=rule, offer=offer).values_list("used", flat=True)
    )


def test_periods_follow_each_other_from_midnight_utc():
    day = datetime.timedelta(days=1)
    late = datetime.datetime(2026, 6, 15, 23, 59, tzinfo=datetime.UTC)
    paris = datetime.timezone(datetime.timedelta(hours=2))

    assert typology.period_start(day, late) == datetime.datetime(
        2026, 6, 15, tzinfo=datetime.UTC
    )
    assert typology.period_start(day, late.astimezone(paris)) == datetime.datetime(
        2026, 6, 15, tzinfo=datetime.UTC
    )
    assert typology.period_start(
        datetime.timedelta(hours=6), late
    ) == datetime.datetime(2026, 6, 15, 18, tzinfo=datetime.UTC)


def test_a_new_budget_counts_what_its_period_already_holds(environment, offers, web):
    now = timezone.now()
    for _ in range(2):
        record(offers["gold"], web, make_contact(), when=now)
    record(offers["gold"], web, make_contact(), when=now - 2 * DAY)

    rule = make_rule(environment, global_capping=True, quantity=3, period_days=1)

    assert used(rule, offers["gold"]) == 2
    assert used(rule, offers["silver"]) == 0
    result = ask(web, make_contact(), count=10, store=True, date=now)
    assert sorted(codes(result)) == ["gold", "silver"]
    assert used(rule, offers["gold"]) == 3
    assert "gold" in dropped(ask(web, make_contact(), count=10, date=now))


def test_saving_a_rule_starts_its_counters_again(environment, offers, web):
    now = timezone.now()
    rule = make_rule(environment, global_capping=True, quantity=5, period_days=1)
    ask(web, make_contact(), count=10, store=True, date=now)
    assert used(rule, offers["gold"]) == 1

    later = ask(web, make_contact(), count=10, store=True, date=now + 3 * DAY)
    assert len(later.propositions) == 2
    rule.label = "Daily budget"
    rule.save()  # how it counts is unchanged: every period's counters kept
    assert CapUsage.objects.filter(rule=rule, offer=offers["gold"]).count() == 2

    rule.period_days, rule.period_hours = 0, 1
    rule.save()
    assert used(rule, offers["gold"]) == 1  # counted from the table again
    assert CapUsage.objects.filter(rule=rule, offer=offers["gold"]).count() == 1

    rule.global_capping = False
    rule.save()
    assert not CapUsage.objects.filter(rule=rule).exists()


def test_a_budget_starts_again_with_its_next_period(environment, offers, web):
    rule = make_rule(environment, global_capping=True, quantity=1, period_days=1)
    ask(web, make_contact(), count=10, store=True)  # at NOW

    assert codes(ask(web, make_contact(), count=10)) == []
    tomorrow = NOW + DAY
    assert sorted(codes(ask(web, make_contact(), count=10, date=tomorrow))) == [
        "gold",
        "silver",
    ]
    assert CapUsage.objects.filter(rule=rule).count() == 2


def test_same_channel_budgets_count_each_channel(environment, offers, web):
    email = make_space(environment, "newsletter", channel="email", max_offers=10)
    offers["gold"].spaces.add(email)
    make_offer(offers["gold"].category, "gold-mail", spaces=[email])
    make_rule(
        environment,
        global_capping=True,
        quantity=1,
        period_days=1,
        same_channel_only=True,
        offer_condition={"field": "offer.code", "op": "=", "value": "gold"},
    )

    assert "gold" in codes(ask(web, make_contact(), count=10, store=True))
    assert "gold" not in codes(ask(web, make_contact(), count=10))
    assert set(CapUsage.objects.values_list("channel", "used").distinct()) == {
        ("web", 1)
    }


def test_an_accepted_budget_counts_acceptances(environment, offers, web):
    rule = make_rule(
        environment,
        global_capping=True,
        quantity=1,
        period_days=1,
        counted_statuses="accepted",
    )
    first = ask(web, make_contact(), count=10, store=True)
    assert used(rule, offers["gold"]) == 0  # proposing is not accepting

    gold = next(p for p in first.propositions if p.offer.code == "gold")
    proposition = Proposition.objects.get(pk=gold.id)
    storage.update_status(proposition, "accepted")

    assert used(rule, offers["gold"]) == 1
    assert codes(ask(web, make_contact(), count=10)) == ["silver"]

    storage.update_status(proposition, "rejected")  # same level: replaces it
    assert used(rule, offers["gold"]) == 0
    storage.update_status(proposition, "presented")  # never backwards
    assert Proposition.objects.get(pk=gold.id).status == "rejected"
    assert sorted(codes(ask(web, make_contact(), count=10))) == ["gold", "silver"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_insert_gives_back_what_it_took(environment, offers, web, monkeypatch):
    """Whether the counters are taken before the insert (then given back) or
    in the same statement (PostgreSQL), a failed insert leaves them as they
    were. In autocommit, as a page stores: each statement its own."""
    rule = make_rule(environment, global_capping=True, quantity=5, period_days=1)
    original = storage._insert_params

    def broken(*args):
        params = original(*args)
        params[storage._COLUMNS.index("offer_code")] = None  # NOT NULL
        return params

    monkeypatch.setattr(storage, "_insert_params", broken)
    with pytest.raises(DatabaseError):
        ask(web, make_contact(), count=10, store=True)

    assert used(rule, offers["gold"]) == 0
    assert not Proposition.objects.exists()


def test_an_offer_refused_at_storage_gives_its_place_to_the_next(
    environment, offers, web, monkeypatch
):
    """The budget ran out between ranking and storing (another process)."""
    make_rule(
        environment,
        global_capping=True,
        quantity=1,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": "gold"},
    )
    original = storage._counters

    def run_out_first(outcome):
        # Another call takes gold's last proposition after this one ranked.
        caps.take(
            [
                (cap, offers["gold"].pk)
                for cap in typology.cap_periods(
                    outcome.capping_rules, outcome.space.channel, outcome.date
                )
            ]
        )
        return original(outcome)

    monkeypatch.setattr(storage, "_counters", run_out_first)
    weight(offers["gold"], "2")
    result = ask(web, make_contact(), count=1, store=True)

    assert [(p.offer.code, p.rank) for p in result.propositions] == [("silver", 1)]
    assert list(Proposition.objects.values_list("offer_code", "rank")) == [
        ("silver", 1)
    ]


def test_a_budget_for_some_contacts_counts_everyones_propositions(
    environment, offers, web
):
    """A contact condition says whom a budget refuses; what it counts is every
    contact's propositions of the offer (SPEC §2), stored calls included."""
    rule = make_rule(
        environment,
        global_capping=True,
        quantity=2,
        period_days=1,
        contact_condition={"field": "country", "op": "=", "value": "DE"},
        offer_condition={"field": "offer.code", "op": "=", "value": "gold"},
    )

    assert "gold" in codes(ask(web, make_contact(country="FR"), count=10, store=True))
    assert used(rule, offers["gold"]) == 1
    assert "gold" in codes(ask(web, make_contact(country="DE"), count=10, store=True))
    assert used(rule, offers["gold"]) == 2

    assert "gold" not in codes(ask(web, make_contact(country="DE"), count=10))
    assert "gold" in codes(ask(web, make_contact(country="FR"), count=10, store=True))
    assert used(rule, offers["gold"]) == 3
