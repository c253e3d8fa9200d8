"""A simulation's background task (django-tasks, the campaigns' ``batch``
backend and ``interaction`` queue) and what it does.

The population is cut into chunks as a campaign run cuts it
(:func:`interaction.campaigns.chunks.bounds`); each chunk is read and ranked
exactly as a run's (:func:`interaction.campaigns.runs.chunk_contacts`,
:func:`interaction.engine.batch.rank_contacts` and ``allocate``), the global
caps' budgets as they stand (read, never locked or taken), what earlier
chunks would have taken kept in memory. Then, instead of writing: the
figures are added up (:mod:`.aggregation`) and the contacts short of offers
diagnosed (:mod:`.diagnostics`). Nothing is written but the simulation's own
row: its progress after each chunk, its results at the end.

One task per simulation, chunks in key order: budgets shared across the
population are granted as a run with one worker grants them.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import F
from django.utils import timezone
from django_tasks import task

from ..campaigns import chunks, runs
from ..campaigns.tasks import BACKEND, QUEUE
from ..delivery import caps
from ..engine import batch
from ..models import Simulation
from ..models.choices import RunStatus
from . import spec
from .aggregation import Tally
from .diagnostics import Diagnostics

#: Contacts per chunk (progress is saved after each).
CHUNK_SIZE = runs.CHUNK_SIZE


@task(backend=BACKEND, queue_name=QUEUE)
def simulate_task(simulation_id: int) -> str:
    return simulate(simulation_id)


def simulate(simulation_id: int, *, chunk_size: int = CHUNK_SIZE) -> str:
    """Run the simulation (queued) to its end: its final status."""
    claimed = Simulation.objects.filter(
        pk=simulation_id, status=RunStatus.QUEUED
    ).update(status=RunStatus.RUNNING, started_at=timezone.now())
    if not claimed:
        return "skipped"
    simulation = Simulation.objects.select_related("environment").get(pk=simulation_id)
    try:
        results = _simulate(simulation, chunk_size)
    except runs.RunError as error:
        return _fail(simulation_id, str(error))
    except Exception as error:
        _fail(simulation_id, f"{type(error).__name__}: {error}")
        raise
    if results is None:
        return RunStatus.CANCELLED
    Simulation.objects.filter(pk=simulation_id, status=RunStatus.RUNNING).update(
        status=RunStatus.DONE, results=results, finished_at=timezone.now()
    )
    return RunStatus.DONE


def _fail(simulation_id: int, message: str) -> str:
    Simulation.objects.filter(pk=simulation_id).update(
        status=RunStatus.FAILED, error=message[:2000], finished_at=timezone.now()
    )
    return RunStatus.FAILED


def _simulate(simulation: Simulation, chunk_size: int) -> dict | None:
    """The results, or ``None`` if the simulation was cancelled meanwhile."""
    snapshot = spec.catalogue_of(simulation)
    inputs = runs.setting(
        spec.campaign_spec(simulation, snapshot),
        simulation.seed,
        simulation.contact_date,
        snapshot,
    )
    population = inputs.model._default_manager.filter(inputs.population)
    planned = list(chunks.bounds(population, chunk_size))
    Simulation.objects.filter(pk=simulation.pk).update(
        contacts_total=sum(size for _first, _last, size in planned)
    )
    limit = max(0, min(inputs.call.count, inputs.space.max_offers))
    tally = Tally(limit)
    diagnostics = Diagnostics(inputs.catalogue, inputs.call, simulation.environment_id)
    periods = {cap.rule_id: cap for cap in inputs.history.caps}
    #: What the chunks so far would have taken of each budget.
    taken: Counter[tuple[int, int]] = Counter()
    for first, last, _size in planned:
        contacts = runs.chunk_contacts(
            inputs, simulation.environment_id, str(first), str(last)
        )
        outcomes = batch.rank_contacts(inputs.catalogue, inputs.call, contacts)
        needed = batch.counters_needed(outcomes)
        left: dict[tuple[int, int], int] = {}
        if needed:
            used = caps.read([(periods[rule], offer) for rule, offer in needed])
            left = {
                key: periods[key[0]].quantity - used.get(key, 0) - taken[key]
                for key in needed
            }
        allocation = batch.allocate(outcomes, contacts, left, inputs.minimum)
        taken.update(allocation.taken)
        tally.add(allocation.choices)
        diagnostics.add(outcomes, allocation.choices)
        if not Simulation.objects.filter(
            pk=simulation.pk, status=RunStatus.RUNNING
        ).update(contacts_processed=F("contacts_processed") + len(contacts)):
            return None  # cancelled
    results = tally.results()
    results["population"] = sum(size for _first, _last, size in planned)
    results["catalogue"] = "drafts" if simulation.include_drafts else "live"
    results["space"] = inputs.space.code
    results["diagnostics"] = diagnostics.results()
    return results
