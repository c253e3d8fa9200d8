"""What a simulation asks: a campaign's inputs (:class:`CampaignSpec`), read
against the catalogue it simulates (live, or the drafts).

The settings are frozen as JSON when the simulation starts (ids of its space
and category, themes, population, N, "exclude fewer"); the codes a run reads
are taken from the catalogue simulated, so a space or category renamed in a
draft is simulated under its draft code.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..campaigns import runs
from ..campaigns.spec import CampaignSpec
from ..delivery.snapshot import Snapshot, get_snapshot
from ..engine import ties
from ..engine.catalogue import split_themes
from ..models import Simulation
from .drafts import draft_snapshot

#: A simulation that cannot run, with a message for its user.
SimulationError = runs.RunError


def settings_of(simulation: Simulation) -> dict[str, Any]:
    """What the task reads of ``simulation``'s fields, as JSON."""
    return {
        "space_id": simulation.space_id,
        "category_id": simulation.category_id,
        "themes": list(split_themes(simulation.themes)),
        "population": simulation.population or None,
        "count": simulation.count,
        "exclude_fewer": simulation.exclude_fewer,
    }


def catalogue_of(simulation: Simulation) -> Snapshot:
    """The catalogue simulated: the live one, or the environment's drafts."""
    if simulation.include_drafts:
        return draft_snapshot(simulation.environment)
    return get_snapshot()


def campaign_spec(simulation: Simulation, snapshot: Snapshot) -> CampaignSpec:
    """The campaign a run of ``simulation``'s settings would be, in
    ``snapshot``; raises :class:`SimulationError`."""
    data = simulation.spec
    environment = snapshot.catalogue.environments.get(simulation.environment_id)
    if environment is None:
        raise SimulationError("The environment no longer exists.")
    space_code = next(
        (
            code
            for code, row in snapshot.spaces.items()
            if row.pk == data.get("space_id")
            and row.environment_id == simulation.environment_id
        ),
        None,
    )
    if space_code is None:
        raise SimulationError(
            "The space is not live (simulate including drafts to use a space "
            "in design), or was deleted."
        )
    category = None
    if data.get("category_id") is not None:
        codes = {pk: code for code, pk in environment.categories_by_code.items()}
        category = codes.get(data["category_id"])
        if category is None:
            raise SimulationError("The category was deleted.")
    return CampaignSpec(
        campaign_id=0,
        environment_id=simulation.environment_id,
        space_code=space_code,
        population=data.get("population"),
        count=data.get("count", 1),
        category=category,
        themes=tuple(data.get("themes", ())),
        date=simulation.contact_date,
        exclude_fewer=bool(data.get("exclude_fewer")),
    )


def start(simulation: Simulation, *, user=None, enqueue: bool = True) -> Simulation:
    """Record ``simulation`` (unsaved, its fields set) and enqueue its task
    (``enqueue=False``: the caller runs it, :func:`.task.simulate`). Raises
    :class:`SimulationError` when its settings cannot run."""
    from . import task

    if simulation.seed is None:
        simulation.seed = ties.new_seed()
    simulation.spec = settings_of(simulation)
    snapshot = catalogue_of(simulation)
    # Refuse what cannot run now rather than in the task.
    runs.setting(
        campaign_spec(simulation, snapshot),
        simulation.seed,
        simulation.contact_date,
        snapshot,
    )
    if user is not None and user.is_authenticated:
        simulation.created_by = user
    with transaction.atomic():
        simulation.save()
        if enqueue:
            runs.enqueue_task(task.simulate_task, simulation.pk)
    return simulation
