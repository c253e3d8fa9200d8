"""Campaign batch runs (SPEC §6): reading the population, writing propositions.

A run goes through these steps, each a django-tasks task (:mod:`.tasks`) on
the ``batch`` backend, queue ``interaction``, so any number of workers on any
machines share it:

1. :func:`start` records the run (its seed, contact date and campaign
   settings, frozen) and enqueues its planning;
2. :func:`plan`, one transaction: gives back what the campaign's unsent
   propositions (those of its runs not marked sent) took of the global caps
   and deletes them, cuts the population (the campaign's condition compiled
   to a ``Q`` and filtered by the database) into chunks of consecutive
   primary keys, and enqueues one task per chunk;
3. :func:`process_chunk`, one transaction per chunk: reads the chunk's
   contacts (their targetable fields) and their history counts in one query,
   ranks each contact in Python as an inbound call would
   (:mod:`interaction.engine.batch`), takes the global caps' counters for the
   chunk at once, writes its propositions with one ``INSERT`` and adds its
   counts to the run's (``F()`` updates). A worker that dies mid-chunk
   leaves nothing of it: the chunk stays pending, and :func:`resume` runs
   it again. The chunk commits only while the run is running: a cancelled
   run writes nothing more.

Memory stays flat whatever the population: the planning reads chunk bounds,
a chunk holds its own contacts only, and the export streams.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import socket
from collections import Counter
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Model, Q
from django.utils import timezone

from ..delivery import caps
from ..delivery.propose import only_offers
from ..delivery.snapshot import Snapshot, get_snapshot
from ..engine import batch, core, statuses, ties
from ..engine.call import (
    Call,
    CapPeriod,
    Contact,
    HistoryRequest,
)
from ..engine.catalogue import Catalogue, CompiledRule, CompiledSpace
from ..engine.conditions import condition_names
from ..models import (
    CampaignRun,
    CampaignRunChunk,
    Environment,
    Proposition,
)
from ..models.choices import ChunkStatus, RunStatus
from ..targeting.sql import condition_q
from . import chunks
from .spec import CampaignSpec

#: Contacts per chunk (one task, one transaction each) unless a run says.
CHUNK_SIZE = 2000


class RunError(Exception):
    """A run that cannot start or go on, with a message for its user."""


# -- The campaign's settings -----------------------------------------------------


def campaign_spec(page) -> CampaignSpec:
    """What a run reads of its campaign page (the published version)."""
    specific = page.specific
    if not hasattr(specific, "spec"):
        raise RunError(f"Page {page.pk} (“{page.title}”) is not a campaign.")
    try:
        return specific.spec()
    except Exception as error:  # an incomplete page: no space, ...
        raise RunError(f"Campaign “{page.title}” is incomplete: {error}") from error


def _spec_data(spec: CampaignSpec) -> dict[str, Any]:
    data = dataclasses.asdict(spec)
    data.pop("date")
    data["themes"] = list(spec.themes)
    data["offer_ids"] = list(spec.offer_ids)
    return data


def run_spec(run: CampaignRun) -> CampaignSpec:
    """The settings ``run`` froze when it started."""
    data = dict(run.spec)
    data["themes"] = tuple(data.get("themes", ()))
    data["offer_ids"] = tuple(data.get("offer_ids", ()))
    return CampaignSpec(date=run.contact_date, **data)


@dataclasses.dataclass(frozen=True)
class Setting:
    """A run's inputs, compiled: the catalogue and call each contact gets."""

    catalogue: Catalogue
    space: CompiledSpace
    call: Call
    #: Contacts getting fewer offers are excluded (0: none is).
    minimum: int
    model: type[Model]
    names: tuple[str, ...]
    kinds: dict[str, str]
    population: Q
    history: HistoryRequest


def setting(
    spec: CampaignSpec,
    seed: int,
    date: datetime.datetime,
    snapshot: Snapshot | None = None,
) -> Setting:
    """Check ``spec`` against the live catalogue (or ``snapshot``, e.g. a
    simulation's catalogue of drafts); raises :class:`RunError`."""
    if spec.count < 1:
        raise RunError("The campaign asks for no offer per contact.")
    snapshot = snapshot if snapshot is not None else get_snapshot()
    environment = snapshot.catalogue.environments.get(spec.environment_id)
    if environment is None or environment.anonymous:
        raise RunError(
            "The campaign's environment identifies no contacts: a run needs a "
            "population of its dimension."
        )
    space = snapshot.catalogue.spaces.get(spec.space_code)
    if space is None or space.environment_id != spec.environment_id:
        raise RunError(f"No live space “{spec.space_code}” in the environment.")
    if spec.environment_id not in snapshot.dimensions:
        raise RunError("The environment's dimension can no longer be read.")
    model, names = snapshot.dimensions[spec.environment_id]
    kinds = _kinds(spec.environment_id)
    unknown = sorted(set(condition_names(spec.population)) - set(kinds))
    if unknown:
        raise RunError(
            "The population reads fields that cannot be targeted: " + ", ".join(unknown)
        )
    try:
        population = condition_q(spec.population, kinds, date.date())
    except (ValueError, KeyError, TypeError) as error:
        raise RunError(f"The population cannot be read: {error}") from error
    catalogue = _catalogue(snapshot, spec)
    count = spec.count
    if spec.offer_ids:
        # Explicit offers: each eligible one, no arbitration (an offer block's
        # call); "fewer than N" counts against N or the offers chosen.
        count = len(spec.offer_ids)
        space = catalogue.spaces[spec.space_code]
    call = Call(
        space=spec.space_code,
        count=count,
        category=None if spec.offer_ids else spec.category,
        themes=() if spec.offer_ids else spec.themes,
        date=date,
        seed=seed,
        real_time=False,
        explain=False,
    )
    limit = max(0, min(count, space.max_offers))
    return Setting(
        catalogue=catalogue,
        space=space,
        call=call,
        minimum=min(spec.count, limit) if spec.exclude_fewer else 0,
        model=model,
        names=names,
        kinds=kinds,
        population=population,
        history=core.history_request(environment, space, date),
    )


def _kinds(environment_id: int) -> dict[str, str]:
    environment = Environment.objects.get(pk=environment_id)
    return {
        name: field.kind
        for name, field in environment.condition_schema().contact_fields.items()
    }


def _catalogue(snapshot: Snapshot, spec: CampaignSpec) -> Catalogue:
    if not spec.offer_ids:
        return snapshot.catalogue
    chosen = frozenset(spec.offer_ids)
    return snapshot.derived.get(
        ("only offers", chosen), lambda: only_offers(snapshot.catalogue, chosen)
    )


# -- Starting, planning, controlling -----------------------------------------------


def start(
    page,
    *,
    user=None,
    seed: int | None = None,
    spec: CampaignSpec | None = None,
    chunk_size: int = CHUNK_SIZE,
    enqueue: bool = True,
) -> CampaignRun:
    """Record a run of the campaign ``page`` and enqueue its planning
    (``enqueue=False``: the caller runs it, e.g. :func:`run_to_end`).

    ``spec``: the campaign's settings (default: read from the page). Raises
    :class:`RunError` when the settings cannot run or a run of the campaign
    is still queued or running.
    """
    spec = spec if spec is not None else campaign_spec(page)
    if chunk_size < 1:
        raise RunError("A chunk holds at least one contact.")
    date = spec.date or timezone.now()
    seed = ties.new_seed() if seed is None else seed
    setting(spec, seed, date)  # refuse what cannot run now rather than later
    try:
        with transaction.atomic():
            run = CampaignRun.objects.create(
                campaign_id=page.pk,
                environment_id=spec.environment_id,
                seed=seed,
                contact_date=date,
                spec=_spec_data(spec),
                chunk_size=chunk_size,
                created_by=user if user is not None and user.is_authenticated else None,
            )
            if enqueue:
                from . import tasks

                enqueue_task(tasks.plan_run, run.pk)
    except IntegrityError:
        raise RunError(
            "A run of this campaign is queued or running: wait for it or cancel it."
        ) from None
    return run


def enqueue_task(task, *args) -> None:
    """Enqueue ``task``: at once with the database backend (the task row
    commits or rolls back with the caller's transaction), on commit with
    any other (which would run it, or let a worker see it, before the rows it
    reads are committed)."""
    from django_tasks_db import DatabaseBackend

    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(lambda: task.enqueue(*args))


def plan(run_id: int, *, enqueue: bool = True) -> CampaignRun | None:
    """Step 2 of a run (see the module): replace the campaign's unsent
    propositions and cut the population into chunks. Nothing happens to a
    run that is no longer queued (cancelled, or planned already)."""
    try:
        with transaction.atomic():
            run = CampaignRun.objects.select_for_update().filter(pk=run_id).first()
            if run is None or run.status != RunStatus.QUEUED:
                return run
            spec = run_spec(run)
            inputs = setting(spec, run.seed, run.contact_date)
            # Locked like mark_sent locks a run: none of them can be marked as
            # sent while its propositions are being replaced.
            list(
                CampaignRun.objects.select_for_update()
                .filter(campaign_id=run.campaign_id, sent_at__isnull=True)
                .exclude(pk=run.pk)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            _replace_unsent(run)
            population = inputs.model._default_manager.filter(inputs.population)
            planned = [
                CampaignRunChunk(
                    run=run,
                    position=position,
                    pk_from=str(first),
                    pk_to=str(last),
                    contacts_planned=size,
                )
                for position, (first, last, size) in enumerate(
                    chunks.bounds(population, run.chunk_size)
                )
            ]
            CampaignRunChunk.objects.bulk_create(planned, batch_size=1000)
            run.status = RunStatus.RUNNING
            run.started_at = timezone.now()
            run.contacts_total = sum(chunk.contacts_planned for chunk in planned)
            run.chunks_total = len(planned)
            run.save(
                update_fields=[
                    "status",
                    "started_at",
                    "contacts_total",
                    "chunks_total",
                ]
            )
            _finish_if_complete(run.pk)
            if enqueue:
                _enqueue_chunks(run)
    except RunError as error:
        _fail(run_id, str(error))
        raise
    except Exception as error:
        _fail(run_id, f"{type(error).__name__}: {error}")
        raise
    run.refresh_from_db()
    return run


def _fail(run_id: int, message: str) -> None:
    CampaignRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.FAILED, error=message[:2000], finished_at=timezone.now()
    )


def _enqueue_chunks(run: CampaignRun) -> None:
    from . import tasks

    for chunk_id in CampaignRunChunk.objects.filter(
        run=run, status=ChunkStatus.PENDING
    ).values_list("pk", flat=True):
        enqueue_task(tasks.run_chunk, chunk_id)


def _replace_unsent(run: CampaignRun) -> None:
    """Delete the propositions of the campaign's other runs not marked sent,
    giving back what they took of the global caps."""
    unsent = Proposition.objects.filter(
        run__campaign_id=run.campaign_id, run__sent_at__isnull=True
    ).exclude(run_id=run.pk)
    groups = (
        unsent.order_by()
        .values_list("offer_id", "channel", "status", "event_date")
        .annotate(count=Count("id"))
    )
    held = caps.counted(_capping_rules(run.environment_id), groups)
    caps.add({key: -count for key, count in held.items()})
    unsent.delete()


def _capping_rules(environment_id: int) -> list[CompiledRule]:
    environment = get_snapshot().catalogue.environments.get(environment_id)
    if environment is None:
        return []
    return [rule for rule in environment.rules if rule.global_capping]


def cancel(run: CampaignRun) -> bool:
    """Stop ``run``: no chunk commits once this returns (a chunk being
    written rolls back). What chunks wrote before stays, consistent with the
    run's counts. False if the run had ended."""
    cancelled = CampaignRun.objects.filter(
        pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.CANCELLED, finished_at=timezone.now())
    # Chunks being written are locked: they mark themselves.
    with transaction.atomic():
        pending = list(
            CampaignRunChunk.objects.select_for_update(skip_locked=True)
            .filter(run=run, status=ChunkStatus.PENDING)
            .values_list("pk", flat=True)
        )
        CampaignRunChunk.objects.filter(pk__in=pending).update(
            status=ChunkStatus.CANCELLED
        )
    run.refresh_from_db()
    return bool(cancelled)


def resume(run: CampaignRun, *, enqueue: bool = True) -> CampaignRun:
    """Run again what ``run`` has not done: its failed chunks, and its pending
    ones (a worker died in them, or their tasks were lost); its planning if
    it never ran. Chunks done are never done twice."""
    with transaction.atomic():
        locked = CampaignRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == RunStatus.QUEUED:
            if enqueue:
                from . import tasks

                enqueue_task(tasks.plan_run, locked.pk)
            return locked
        if locked.status not in (RunStatus.RUNNING, RunStatus.FAILED):
            raise RunError(
                f"A {locked.get_status_display().lower()} run cannot resume."
            )
        if not locked.chunks_total and locked.status == RunStatus.FAILED:
            raise RunError("The run failed before its chunks were planned.")
        failed = CampaignRunChunk.objects.filter(
            run=locked, status=ChunkStatus.FAILED
        ).update(status=ChunkStatus.PENDING, error="")
        CampaignRun.objects.filter(pk=locked.pk).update(
            status=RunStatus.RUNNING,
            finished_at=None,
            chunks_failed=F("chunks_failed") - failed,
        )
        if enqueue:
            _enqueue_chunks(locked)
    locked.refresh_from_db()
    return locked


def run_to_end(run: CampaignRun, *, worker: str = "") -> CampaignRun:
    """Plan ``run`` if it is queued, then process its pending chunks in this
    process (``interaction_run_campaign --wait``). A chunk that fails is
    recorded and the others go on."""
    plan(run.pk, enqueue=False)
    for chunk_id in CampaignRunChunk.objects.filter(
        run=run, status=ChunkStatus.PENDING
    ).values_list("pk", flat=True):
        try:
            process_chunk(chunk_id, worker=worker or default_worker())
        except Exception:  # recorded on the chunk; the run shows it
            pass
    run.refresh_from_db()
    return run


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _finish_if_complete(run_id: int) -> None:
    """End a running run whose chunks all ended: done, or failed if one did."""
    now = timezone.now()
    CampaignRun.objects.filter(
        pk=run_id, status=RunStatus.RUNNING, chunks_done=F("chunks_total")
    ).update(status=RunStatus.DONE, finished_at=now)
    CampaignRun.objects.filter(
        pk=run_id,
        status=RunStatus.RUNNING,
        chunks_failed__gt=0,
        chunks_total=F("chunks_done") + F("chunks_failed"),
    ).update(status=RunStatus.FAILED, finished_at=now)


# -- One chunk -------------------------------------------------------------------------


class _Stopped(Exception):
    """The run stopped (cancelled) while the chunk was being written."""


def process_chunk(chunk_id: int, *, worker: str = "") -> str:
    """Step 3 of a run for one chunk, in one transaction: "done", "skipped"
    (done already, or being written by another worker), "cancelled" (the run
    stopped). A chunk that raises is marked failed, then the error is raised
    again."""
    try:
        with transaction.atomic():
            chunk = (
                CampaignRunChunk.objects.select_for_update(
                    skip_locked=True, of=("self",)
                )
                .select_related("run")
                .filter(pk=chunk_id, status=ChunkStatus.PENDING)
                .first()
            )
            if chunk is None:
                return "skipped"
            run = chunk.run
            if run.status != RunStatus.RUNNING:
                raise _Stopped
            processed, excluded, written = _write_chunk(run, chunk)
            chunk.status = ChunkStatus.DONE
            chunk.contacts_processed = processed
            chunk.contacts_excluded = excluded
            chunk.propositions_written = written
            chunk.attempts += 1
            chunk.worker = worker[:128]
            chunk.error = ""
            chunk.finished_at = timezone.now()
            chunk.save()
            # Last, so the run's row is locked only until the commit; a run
            # cancelled meanwhile matches nothing and the chunk rolls back.
            if not CampaignRun.objects.filter(
                pk=run.pk, status=RunStatus.RUNNING
            ).update(
                contacts_processed=F("contacts_processed") + processed,
                contacts_excluded=F("contacts_excluded") + excluded,
                propositions_written=F("propositions_written") + written,
                chunks_done=F("chunks_done") + 1,
            ):
                raise _Stopped
            _finish_if_complete(run.pk)
    except _Stopped:
        CampaignRunChunk.objects.filter(pk=chunk_id, status=ChunkStatus.PENDING).update(
            status=ChunkStatus.CANCELLED
        )
        return "cancelled"
    except Exception as error:
        _chunk_failed(chunk_id, worker, f"{type(error).__name__}: {error}")
        raise
    return "done"


def _chunk_failed(chunk_id: int, worker: str, message: str) -> None:
    with transaction.atomic():
        chunk = (
            CampaignRunChunk.objects.select_for_update()
            .filter(pk=chunk_id, status=ChunkStatus.PENDING)
            .first()
        )
        if chunk is None:
            return
        chunk.status = ChunkStatus.FAILED
        chunk.attempts += 1
        chunk.worker = worker[:128]
        chunk.error = message[:2000]
        chunk.finished_at = timezone.now()
        chunk.save()
        CampaignRun.objects.filter(pk=chunk.run_id, status=RunStatus.RUNNING).update(
            chunks_failed=F("chunks_failed") + 1
        )
        _finish_if_complete(chunk.run_id)


def _write_chunk(run: CampaignRun, chunk: CampaignRunChunk) -> tuple[int, int, int]:
    """Read, choose and write one chunk (in the caller's transaction):
    (contacts processed, contacts excluded, propositions written)."""
    inputs = setting(run_spec(run), run.seed, run.contact_date)
    contacts = chunk_contacts(inputs, run.environment_id, chunk.pk_from, chunk.pk_to)
    outcomes = batch.rank_contacts(inputs.catalogue, inputs.call, contacts)
    needed = batch.counters_needed(outcomes)
    periods = {cap.rule_id: cap for cap in inputs.history.caps}
    left: dict[tuple[int, int], int] = {}
    if needed:
        counters = [(periods[rule_id], offer_id) for rule_id, offer_id in needed]
        used = caps.lock(counters)
        left = {key: periods[key[0]].quantity - used.get(key, 0) for key in needed}
    allocation = batch.allocate(outcomes, contacts, left, inputs.minimum)
    caps.add(
        {
            (periods[rule_id], offer_id): count
            for (rule_id, offer_id), count in allocation.taken.items()
        }
    )
    written = chunks.insert(run, inputs.space, allocation.choices)
    excluded = sum(choice.excluded for choice in allocation.choices)
    return len(contacts), excluded, written


def chunk_contacts(
    inputs: Setting, environment_id: int, pk_from: str, pk_to: str
) -> list[Contact]:
    """The contacts of the population from key ``pk_from`` to ``pk_to`` (as
    text, both included) with their history (:func:`chunks.read_contacts`)."""
    pk = inputs.model._meta.pk
    assert pk is not None
    return chunks.read_contacts(
        inputs.model,
        inputs.names,
        inputs.population
        & Q(pk__gte=pk.to_python(pk_from), pk__lte=pk.to_python(pk_to)),
        environment_id,
        inputs.history,
    )


# -- After a run ----------------------------------------------------------------------


def mark_sent(run: CampaignRun) -> int:
    """Set the run's propositions to ``presented`` (never backwards, as
    :func:`interaction.delivery.storage.update_status` moves one), counting
    the move in the global caps that count statuses; how many moved. Only a
    run that is done, once."""
    target = statuses.PRESENTED
    with transaction.atomic():
        locked = CampaignRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.DONE:
            raise RunError("Only a run that is done can be marked as sent.")
        if locked.sent_at is not None:
            raise RunError("The run was marked as sent already.")
        moving = Proposition.objects.filter(
            run=locked, status__in=statuses.sources(target)
        )
        before = list(
            moving.order_by()
            .values_list("offer_id", "channel", "status", "event_date")
            .annotate(count=Count("id"))
        )
        now = timezone.now()
        moved = moving.update(status=target, last_modified=now)
        rules = [
            rule
            for rule in _capping_rules(locked.environment_id)
            if rule.counted_statuses is not None
        ]
        if rules:
            after = [
                (offer, channel, target, date, n)
                for offer, channel, _s, date, n in before
            ]
            change: Counter[tuple[CapPeriod, int]] = Counter(caps.counted(rules, after))
            change.subtract(caps.counted(rules, before))
            caps.add(change)
        locked.sent_at = now
        locked.save(update_fields=["sent_at"])
    run.refresh_from_db()
    return moved
