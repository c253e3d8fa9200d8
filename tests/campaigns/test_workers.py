"""Campaign runs on django-tasks' database backend with real workers
(``db_worker``'s loop, in threads): a run planned and written by workers, two
workers sharing one run, global caps under a run and inbound calls at once,
a cancel during a chunk, a worker dying mid-chunk (PostgreSQL: row locks,
committed transactions)."""

import threading

import pytest
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from interaction.campaigns import chunks, runs
from interaction.delivery import propose as services
from interaction.delivery import snapshot
from interaction.engine.call import Call
from interaction.models import CampaignRun, CampaignRunChunk, CapUsage, Proposition
from tests.builders import NOW, make_campaign, make_contact, make_rule

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def in_threads(*targets, timeout=120):
    """Run each function in its own thread (its own connection); their errors."""
    errors = []

    def wrapped(target):
        try:
            target()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_workers_plan_and_write_a_run(mailing, offers, population, work):
    page = make_campaign(mailing, count=2, contact_date=NOW)

    run = runs.start(page, seed=5, chunk_size=5)
    assert DBTaskResult.objects.filter(status="READY").count() == 1  # the planning
    work()

    run.refresh_from_db()
    assert run.status == "done", run.error
    assert (run.chunks_total, run.chunks_done) == (3, 3)
    assert run.contacts_processed == len(population)
    assert Proposition.objects.filter(run=run).count() == 2 * len(population)
    # One task for the planning, one per chunk, all successful.
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert DBTaskResult.objects.count() == 4


def test_two_workers_share_one_run(mailing, offers, population, work, monkeypatch):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    run = runs.start(page, chunk_size=1, enqueue=False)
    runs.plan(run.pk)  # 12 chunk tasks queued
    insert = chunks.insert
    started = threading.Barrier(2)

    def slow_insert(*args):
        # Both workers hold a chunk at once before either writes.
        if not getattr(started, "passed", False):
            started.wait(timeout=30)
            started.passed = True
        return insert(*args)

    monkeypatch.setattr(chunks, "insert", slow_insert)

    errors = in_threads(lambda: work("worker-a"), lambda: work("worker-b"))

    assert errors == []
    run.refresh_from_db()
    assert run.status == "done"
    assert run.chunks_done == 12 and run.contacts_processed == len(population)
    by_worker = set(
        CampaignRunChunk.objects.filter(run=run).values_list("worker", flat=True)
    )
    assert by_worker == {"worker-a", "worker-b"}
    assert Proposition.objects.filter(run=run).count() == 2 * len(population)
    # Each chunk written once.
    assert all(
        attempts == 1
        for attempts in CampaignRunChunk.objects.values_list("attempts", flat=True)
    )


def test_a_global_cap_holds_with_a_run_and_inbound_calls_at_once(
    environment, mailing, offers, work
):
    budget = 15
    rule = make_rule(
        environment,
        "budget",
        global_capping=True,
        quantity=budget,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": "gold"},
    )
    campaign_contacts = [make_contact(age=40, country="FR") for _ in range(30)]
    visitors = [make_contact(age=40, country="BE") for _ in range(20)]
    page = make_campaign(
        mailing,
        count=2,
        contact_date=NOW,
        population={"field": "country", "op": "=", "value": "FR"},
    )
    run = runs.start(page, chunk_size=3, enqueue=False)
    runs.plan(run.pk)
    snapshot.get_snapshot()

    def inbound(contact):
        def call():
            services.propose(
                Call(
                    space="mailing",
                    contact=str(contact.pk),
                    count=2,
                    date=NOW,
                    real_time=False,
                ),
                store=True,
            )

        return call

    errors = in_threads(
        lambda: work("worker-a"),
        lambda: work("worker-b"),
        *(inbound(contact) for contact in visitors),
    )

    assert errors == []
    run.refresh_from_db()
    assert run.status == "done"
    gold = Proposition.objects.filter(offer=offers["gold"])
    assert gold.count() == budget
    assert CapUsage.objects.get(rule=rule, offer=offers["gold"]).used == budget
    # Everyone still got two offers: the next ones when gold ran out.
    assert Proposition.objects.filter(run=run).count() == 2 * len(campaign_contacts)
    assert Proposition.objects.filter(run__isnull=True).count() == 2 * len(visitors)


def test_a_cancel_while_a_chunk_is_written_rolls_the_chunk_back(
    mailing, offers, population, work, monkeypatch
):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    run = runs.start(page, chunk_size=4, enqueue=False)
    runs.plan(run.pk)
    writing, cancelled = threading.Event(), threading.Event()
    insert = chunks.insert

    def insert_then_wait(*args):
        written = insert(*args)
        writing.set()
        assert cancelled.wait(timeout=30)
        return written

    monkeypatch.setattr(chunks, "insert", insert_then_wait)

    def cancel():
        assert writing.wait(timeout=30)
        assert runs.cancel(CampaignRun.objects.get(pk=run.pk))
        cancelled.set()

    errors = in_threads(lambda: work("worker-a"), cancel)

    assert errors == []
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert (run.chunks_done, run.contacts_processed, run.propositions_written) == (
        0,
        0,
        0,
    )
    assert not Proposition.objects.filter(run=run).exists()
    assert set(
        CampaignRunChunk.objects.filter(run=run).values_list("status", flat=True)
    ) == {"cancelled"}


def test_a_worker_dying_mid_chunk_leaves_nothing_and_the_run_resumes(
    mailing, offers, population, work, monkeypatch
):
    page = make_campaign(mailing, count=2, contact_date=NOW)
    run = runs.start(page, chunk_size=6, enqueue=False)
    runs.plan(run.pk)
    writing, killed = threading.Event(), threading.Event()
    insert = chunks.insert
    backend = {}

    def insert_then_die(*args):
        written = insert(*args)
        if not killed.is_set():
            backend["pid"] = connection.connection.info.backend_pid
            writing.set()
            assert killed.wait(timeout=30)
        return written

    monkeypatch.setattr(chunks, "insert", insert_then_die)

    def kill():
        assert writing.wait(timeout=30)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend["pid"]])
        killed.set()

    # The worker's connection is cut mid-chunk, as when its machine dies: the
    # database rolls back what the chunk wrote. (This worker lives on: on a
    # new connection it records the chunk as failed, and goes on with the
    # next; a worker that died with its connection leaves the chunk pending.)
    in_threads(lambda: work("doomed"), kill)

    run.refresh_from_db()
    first = CampaignRunChunk.objects.get(run=run, position=0)
    assert first.status in ("pending", "failed")
    assert run.status in ("running", "failed")
    assert not Proposition.objects.filter(
        run=run, contact_key__in=[str(c.pk) for c in population[:6]]
    ).exists()

    runs.resume(run)
    work("rescuer")

    run.refresh_from_db()
    assert run.status == "done"
    assert run.contacts_processed == len(population)
    assert Proposition.objects.filter(run=run).count() == 2 * len(population)
