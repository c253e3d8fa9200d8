"""Campaign batch runs in one process: what a run proposes (as inbound calls
would, contact by contact), its population and chunks, exclusions, explicit
offers, global caps, re-runs, cancelling, a failing chunk and resuming, mark
as sent, and the command. Workers and concurrency: ``test_workers.py``."""

import dataclasses
import io
import random

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from interaction.campaigns import chunks, runs
from interaction.delivery import propose as services
from interaction.engine.call import Call
from interaction.models import (
    CampaignRun,
    CampaignRunChunk,
    CapUsage,
    OfferWeight,
    Proposition,
)
from tests.builders import (
    DAY,
    NOW,
    ask,
    make_campaign,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    publish,
    record,
)

pytestmark = pytest.mark.django_db


def run_campaign(page, **options):
    """Start a run of ``page`` and run it to the end in this process."""
    options.setdefault("seed", 1)
    run = runs.start(page, enqueue=False, **options)
    return runs.run_to_end(run)


def stored(run):
    """Contact key -> [(offer code, rank, weight)] of the run's propositions."""
    found = {}
    for key, code, rank, weight in Proposition.objects.filter(run=run).values_list(
        "contact_key", "offer_code", "rank", "weight"
    ):
        found.setdefault(key, []).append((code, rank, weight))
    return {key: sorted(rows, key=lambda row: row[1]) for key, rows in found.items()}


def inbound(space, contact, **call):
    """What an inbound call for ``contact`` proposes: [(code, rank, weight)]."""
    result = ask(space, contact, real_time=False, **call)
    return [(p.offer.code, p.rank, p.weight) for p in result.propositions]


# -- Same answer as inbound ----------------------------------------------------


def random_catalogue(rng, environment, space):
    categories = [make_category(environment, code) for code in ("cards", "loans")]
    offers = []
    for number in range(rng.randint(3, 8)):
        target = None
        if rng.random() < 0.4:
            target = {"field": "age", "op": ">=", "value": rng.randint(18, 60)}
        offer = make_offer(
            rng.choice(categories),
            f"offer-{number}",
            spaces=[space],
            target_filter=target,
        )
        formula = rng.choice(["1", "2", "2", "3", "age / 10"])
        OfferWeight.objects.create(offer=offer, value=formula)
        offers.append(publish(offer))
    make_rule(environment, "once-a-week", quantity=1, period_days=7)
    if rng.random() < 0.5:
        make_rule(
            environment,
            "two-per-category",
            quantity=2,
            period_days=30,
            counted_offers="category",
        )
    return offers


@pytest.mark.parametrize("case", range(4))
def test_a_run_proposes_what_inbound_calls_propose_contact_by_contact(
    case, environment, mailing
):
    rng = random.Random(case)
    offers = random_catalogue(rng, environment, mailing)
    contacts = [
        make_contact(age=rng.randint(14, 80), country=rng.choice(["FR", "BE"]))
        for _ in range(rng.randint(8, 25))
    ]
    for contact in contacts:
        for _ in range(rng.randint(0, 2)):
            record(
                rng.choice(offers),
                mailing,
                contact,
                when=NOW - rng.randint(0, 40) * DAY,
            )
    population = rng.choice(
        [
            None,
            {"field": "country", "op": "=", "value": "FR"},
            {"field": "age", "op": ">=", "value": 30},
        ]
    )
    count = rng.randint(1, 3)
    seed = rng.randrange(2**40)
    page = make_campaign(mailing, count=count, contact_date=NOW, population=population)
    # Asked before the run: its propositions then count in the history.
    expected = {
        str(contact.pk): inbound(mailing, contact, count=count, seed=seed, date=NOW)
        for contact in contacts
    }

    run = run_campaign(page, seed=seed, chunk_size=rng.randint(1, 7))

    assert run.status == "done"
    got = stored(run)
    targeted = {
        str(contact.pk)
        for contact in contacts
        if population is None
        or (population["field"] == "country" and contact.country == "FR")
        or (population["field"] == "age" and contact.age >= 30)
    }
    assert run.contacts_total == run.contacts_processed == len(targeted)
    assert got == {
        key: rows for key, rows in expected.items() if key in targeted and rows
    }
    assert run.propositions_written == sum(len(rows) for rows in got.values())


def test_the_seed_is_kept_and_gives_the_same_run_again(mailing, offers, population):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    first = stored(run_campaign(page, seed=42))
    second_run = run_campaign(page, seed=42)

    assert second_run.seed == 42
    assert stored(second_run) == first


# -- Population, chunks, exclusions, explicit offers ---------------------------


def test_the_population_is_cut_into_chunks_of_consecutive_keys(
    mailing, offers, population
):
    page = make_campaign(
        mailing,
        count=1,
        contact_date=NOW,
        population={"field": "country", "op": "=", "value": "FR"},
    )
    run = run_campaign(page, chunk_size=4)

    french = sorted(c.pk for c in population if c.country == "FR")
    planned = list(
        CampaignRunChunk.objects.filter(run=run).values_list(
            "pk_from", "pk_to", "contacts_planned", "status", "contacts_processed"
        )
    )
    assert planned == [
        (str(french[0]), str(french[3]), 4, "done", 4),
        (str(french[4]), str(french[5]), 2, "done", 2),
    ]
    assert (run.chunks_total, run.chunks_done, run.contacts_total) == (2, 2, 6)
    assert set(stored(run)) == {str(pk) for pk in french}


def test_a_population_reading_a_field_that_cannot_be_targeted_is_refused(
    mailing, offers
):
    page = make_campaign(mailing, count=1, contact_date=NOW)
    spec = dataclasses.replace(
        runs.campaign_spec(page), population={"field": "salary", "op": ">", "value": 1}
    )

    with pytest.raises(runs.RunError, match="salary"):
        runs.start(page, spec=spec)
    assert not CampaignRun.objects.exists()


def test_contacts_getting_fewer_than_n_offers_are_excluded(
    environment, mailing, offers, population
):
    make_rule(environment, "once-a-week", quantity=1, period_days=7)
    adult = population[5]  # 35
    for code in ("gold", "silver"):
        record(offers[code], mailing, adult, when=NOW - DAY)
    page = make_campaign(mailing, count=3, exclude_fewer=True, contact_date=NOW)

    run = run_campaign(page)

    got = stored(run)
    assert str(adult.pk) not in got  # bronze and basic only: 2 < 3
    assert run.contacts_excluded == 1
    assert run.contacts_processed == len(population)
    assert len(got) == len(population) - 1
    assert all(len(rows) == 3 for rows in got.values())
    # Without the option, the contact gets the two it can.
    page.exclude_fewer = False
    page.save_revision().publish()
    assert [row[0] for row in stored(run_campaign(page))[str(adult.pk)]] == [
        "bronze",
        "basic",
    ]


def test_explicit_offers_are_each_proposed_if_eligible_without_arbitration(
    mailing, offers, population
):
    chosen = [offers["basic"], offers["teen"], offers["silver"]]
    page = make_campaign(mailing, count=1, contact_date=NOW, offers=chosen)
    expected = {}
    for contact in population:
        result = services.propose(
            Call(
                space="mailing",
                contact=str(contact.pk),
                date=NOW,
                seed=9,
                real_time=False,
            ),
            store=False,
            offers=[offer.pk for offer in chosen],
        )
        expected[str(contact.pk)] = [
            (p.offer.code, p.rank, p.weight) for p in result.propositions
        ]

    got = stored(run_campaign(page, seed=9))

    assert got == expected
    kid, adult = population[0], population[5]
    assert [row[0] for row in got[str(kid.pk)]] == ["teen", "silver", "basic"]
    assert [row[0] for row in got[str(adult.pk)]] == ["silver", "basic"]


# -- Global caps ---------------------------------------------------------------


def capped(environment, offer, quantity):
    return make_rule(
        environment,
        "budget",
        global_capping=True,
        quantity=quantity,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": offer.code},
    )


def test_a_scarce_offer_goes_to_the_first_contacts_of_the_chunk(
    environment, mailing, offers, population
):
    rule = capped(environment, offers["gold"], 3)
    page = make_campaign(mailing, count=2, contact_date=NOW)

    run = run_campaign(page, chunk_size=5)

    got = stored(run)
    with_gold = sorted(
        int(key) for key, rows in got.items() if any(row[0] == "gold" for row in rows)
    )
    assert with_gold == sorted(c.pk for c in population)[:3]
    assert Proposition.objects.filter(offer=offers["gold"]).count() == 3
    assert CapUsage.objects.get(rule=rule, offer=offers["gold"]).used == 3
    # The others got their next offers instead: still two each.
    assert all(len(rows) == 2 for rows in got.values())


def test_a_re_run_gives_back_what_the_replaced_propositions_took(
    environment, mailing, offers, population
):
    rule = capped(environment, offers["gold"], 4)
    page = make_campaign(mailing, count=1, contact_date=NOW)

    first = run_campaign(page)
    second = run_campaign(page)

    assert not Proposition.objects.filter(run=first).exists()
    assert Proposition.objects.filter(run=second, offer=offers["gold"]).count() == 4
    assert CapUsage.objects.get(rule=rule, offer=offers["gold"]).used == 4


# -- Re-runs, mark as sent -----------------------------------------------------


def test_a_re_run_replaces_the_unsent_propositions_and_keeps_the_sent_ones(
    mailing, offers, population
):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    sent = run_campaign(page)
    runs.mark_sent(sent)
    replaced = run_campaign(page)
    latest = run_campaign(page)

    assert Proposition.objects.filter(run=sent).count() == 2 * len(population)
    assert not Proposition.objects.filter(run=replaced).exists()
    assert Proposition.objects.filter(run=latest).count() == 2 * len(population)
    assert Proposition.objects.filter(campaign=page).count() == 4 * len(population)


def test_mark_as_sent_presents_the_run_s_propositions_once(mailing, offers, population):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    run = run_campaign(page)
    accepted = Proposition.objects.filter(run=run).first()
    accepted.status = "accepted"
    accepted.save()

    moved = runs.mark_sent(run)

    assert moved == 2 * len(population) - 1
    assert set(
        Proposition.objects.filter(run=run).values_list("status", flat=True)
    ) == {
        "presented",
        "accepted",  # never moved backwards
    }
    assert run.sent_at is not None
    with pytest.raises(runs.RunError):
        runs.mark_sent(run)


def test_only_a_run_that_is_done_can_be_marked_as_sent(mailing, offers, population):
    page = make_campaign(mailing, count=1, contact_date=NOW)
    run = runs.start(page, enqueue=False)

    with pytest.raises(runs.RunError):
        runs.mark_sent(run)


# -- One run at a time, cancel, failures, resume -------------------------------


def test_a_campaign_runs_once_at_a_time(mailing, offers, population):
    page = make_campaign(mailing, count=1, contact_date=NOW)
    runs.start(page, enqueue=False)

    with pytest.raises(runs.RunError, match="queued or running"):
        runs.start(page, enqueue=False)


def test_cancel_stops_the_chunks_not_written_yet(mailing, offers, population):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    run = runs.start(page, enqueue=False, chunk_size=5)
    runs.plan(run.pk, enqueue=False)
    first, *others = CampaignRunChunk.objects.filter(run=run)
    assert runs.process_chunk(first.pk) == "done"

    assert runs.cancel(run)
    assert [runs.process_chunk(chunk.pk) for chunk in others] == ["skipped", "skipped"]

    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished_at is not None
    assert list(
        CampaignRunChunk.objects.filter(run=run).values_list("status", flat=True)
    ) == ["done", "cancelled", "cancelled"]
    # What was written is whole and counted.
    assert run.contacts_processed == 5
    assert run.propositions_written == 10 == Proposition.objects.filter(run=run).count()
    assert not runs.cancel(run)
    with pytest.raises(runs.RunError):
        runs.resume(run)


def test_a_failing_chunk_writes_nothing_and_the_run_resumes(
    environment, mailing, offers, population, monkeypatch
):
    rule = capped(environment, offers["gold"], 100)
    page = make_campaign(mailing, count=2, contact_date=NOW)
    run = runs.start(page, enqueue=False, chunk_size=5)
    insert = chunks.insert
    failures = []

    def insert_then_fail(run, space, choices):
        written = insert(run, space, choices)
        if not failures:
            failures.append(written)
            raise RuntimeError("the worker died mid-chunk")
        return written

    monkeypatch.setattr(chunks, "insert", insert_then_fail)
    runs.run_to_end(run)

    run.refresh_from_db()
    assert failures == [10]  # the first chunk wrote its rows, then failed
    assert run.status == "failed"
    assert (run.chunks_done, run.chunks_failed) == (2, 1)
    failed = CampaignRunChunk.objects.get(run=run, status="failed")
    assert failed.position == 0 and failed.attempts == 1
    assert "the worker died" in failed.error
    # Nothing of the failed chunk: no proposition, no budget taken.
    assert Proposition.objects.filter(run=run).count() == run.propositions_written == 14
    assert CapUsage.objects.get(rule=rule, offer=offers["gold"]).used == 7

    runs.resume(run, enqueue=False)
    runs.run_to_end(run)

    run.refresh_from_db()
    assert run.status == "done"
    assert (run.chunks_done, run.chunks_failed) == (3, 0)
    assert run.contacts_processed == len(population)
    assert Proposition.objects.filter(run=run).count() == 2 * len(population)
    assert CapUsage.objects.get(rule=rule, offer=offers["gold"]).used == len(population)
    assert CampaignRunChunk.objects.get(pk=failed.pk).attempts == 2


def test_an_empty_population_is_done_at_once(mailing, offers):
    page = make_campaign(mailing, count=1, contact_date=NOW)

    run = run_campaign(page)

    assert (run.status, run.chunks_total, run.propositions_written) == ("done", 0, 0)


@pytest.mark.parametrize(
    "population",
    [{"any": []}, {"field": "country", "op": "in", "value": []}],
    ids=["any of nothing", "in no value"],
)
def test_a_population_no_contact_can_match_is_done_at_once(mailing, offers, population):
    make_contact()
    page = make_campaign(mailing, count=1, contact_date=NOW, population=population)

    run = run_campaign(page)

    assert (run.status, run.chunks_total, run.propositions_written) == ("done", 0, 0)


def test_progress_elapsed_and_estimated_end(mailing, offers, population):
    page = make_campaign(mailing, count=1, contact_date=NOW)
    run = runs.start(page, enqueue=False, chunk_size=3)
    runs.plan(run.pk, enqueue=False)
    run.refresh_from_db()
    assert run.progress == 0 and run.eta() is None
    runs.process_chunk(CampaignRunChunk.objects.filter(run=run).first().pk)
    run.refresh_from_db()

    hour = DAY / 24
    now = run.started_at + hour
    assert run.progress == 0.25  # 3 contacts of 12
    assert run.elapsed(now) == hour
    assert run.eta(now) == now + 3 * hour


# -- The command ---------------------------------------------------------------


def test_the_command_runs_a_campaign_to_the_end(mailing, offers, population):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    out = io.StringIO()

    call_command(
        "interaction_run_campaign", page.pk, "--wait", "--seed", "7", stdout=out
    )

    run = CampaignRun.objects.get()
    assert (run.status, run.seed) == ("done", 7)
    assert f"Propositions written: {2 * len(population)}." in out.getvalue()
    assert (
        f"Contacts: {len(population)} processed of {len(population)}" in out.getvalue()
    )


def test_the_command_queues_a_run_for_the_workers(mailing, offers, population):
    page = make_campaign(mailing, count=2, contact_date=NOW)

    call_command("interaction_run_campaign", page.pk, stdout=io.StringIO())

    run = CampaignRun.objects.get()
    assert run.status == "queued"
    task = DBTaskResult.objects.get()
    assert (task.backend_name, task.queue_name) == ("batch", "interaction")
    assert task.args_kwargs == {"args": [run.pk], "kwargs": {}}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["999999"], "No page with id 999999"),
        (["1", "--seed", "-1"], "--seed"),
        (["1", "--chunk-size", "0"], "--chunk-size"),
    ],
)
def test_the_command_refuses_bad_input(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("interaction_run_campaign", *arguments)


def test_the_command_refuses_a_page_that_is_not_a_campaign(db):
    with pytest.raises(CommandError, match="not a campaign"):
        call_command("interaction_run_campaign", "1")


def test_a_site_without_the_batch_backend_fails_its_checks(settings):
    from interaction.checks import check_settings

    assert "interaction.E005" not in {problem.id for problem in check_settings()}
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }

    assert "interaction.E005" in {problem.id for problem in check_settings()}
