"""The compiled live catalogue: built from published rows, shared, invalidated.

Each process keeps one compiled :class:`Snapshot`. A version token in the
database says which one is current (:mod:`.versions`); publishing,
unpublishing or deleting anything in the catalogue writes a new token, so
every process rebuilds within a short interval.

**Who waits for a build.** A build reads and compiles the whole live
catalogue (every offer's terms, :mod:`.warm`): measured on a busy 2-core
machine, 0.4-1 s for 1,000 offers and 3-6 s for 10,000 from cold; 0.1-0.2 s
and about 1 s after one offer's publish, the other offers' compiled terms
being reused. So:

- A process with no snapshot yet builds one at once: its first call waits.
- A change this process made (:func:`invalidate`, which publishing,
  unpublishing and deleting call; or :func:`.versions.forget`) is built at
  once, on its next call: an editor, a shell or a test sees its change.
- A change made by another process, seen by the version check, is built by
  one background thread while every call keeps the previous snapshot
  (stale-while-revalidate); the new one is swapped in whole when it is ready.
  No call waits for it; calls share the interpreter with it meanwhile (a
  few milliseconds more each, measured 3-9 ms against 0.5-1.4 ms). A background
  build is dropped if a build of this process's own change replaced the
  snapshot meanwhile. A build that fails is logged, the previous snapshot
  stays, and a later call retries (not before :data:`RETRY_SECONDS`).
  ``INTERACTION_BUILD_IN_BACKGROUND = False`` builds at once instead.

The build thread opens its own database connection and closes it when done:
it reads committed rows only, which is why this process's own (possibly
uncommitted) changes are built in the calling thread.
:func:`wait_for_background_build` waits for a build in progress (tests,
benchmarks).
"""

from __future__ import annotations

import datetime
import itertools
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from django.db import connections
from django.db.models import Max, Min

from .. import conf
from ..engine import ranking, statuses
from ..engine.catalogue import (
    Catalogue,
    CompiledOffer,
    CompiledRule,
    CompiledSpace,
    EnvironmentCatalogue,
    index_by_space,
)
from ..engine.conditions import condition_names
from ..engine.evaluation import (
    Multiplier,
    OfferEvaluator,
    OfferTerms,
    TargetFilter,
    WeightRow,
    Window,
    intersect,
)
from ..engine.predicates import compile_predicate
from ..models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    TypologyRule,
)
from ..targeting.fields import untargetable_names
from . import versions, warm

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: After a failed background build, the seconds before a call starts another.
RETRY_SECONDS = 5.0


class Derived:
    """Values derived from one catalogue version on first use, dropped with it.

    E.g. an offer's rendering in a space, or the catalogue restricted to the
    offers a block chose. Two threads may compute the same value at once; both
    results are equal and one is kept.
    """

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        try:
            return self._values[key]
        except KeyError:
            return self._values.setdefault(key, compute())


@dataclass(frozen=True)
class Snapshot:
    catalogue: Catalogue
    #: Published offer and space rows, for rendering.
    offers: dict[int, Offer]
    spaces: dict[str, OfferSpace]
    #: Environment id -> (contact model, its targetable fields: all that is
    #: read of a contact, for conditions, formulas and rendering).
    dimensions: dict[int, tuple[type, tuple[str, ...]]]
    version: str
    derived: Derived = field(default_factory=Derived)
    #: Every offer's compiled terms by terms key, for the next build to reuse.
    evaluators: Mapping[bytes, OfferEvaluator] = field(default_factory=dict)


class _Served(NamedTuple):
    """What this process serves, swapped as one value (threads read it once)."""

    snapshot: Snapshot
    #: ``versions.changes()`` read before the snapshot's rows were: a change
    #: of this process's since then is built at once, not in the background.
    changes: int
    #: Counts swaps: a background build is swapped in only over the
    #: snapshot served when the version it builds was seen.
    generation: int


#: Held while a snapshot is built in a calling thread, and to swap one in.
_lock = threading.Lock()
_served: _Served | None = None
_generations = itertools.count(1)
#: Held to start or end the background build.
_builder_lock = threading.Lock()
_builder: threading.Thread | None = None
_retry_at = 0.0


def _after_fork_in_child() -> None:
    # A worker forked from a process that was building (e.g. a preloading
    # server) has neither that thread nor the threads holding the locks.
    global _lock, _builder_lock, _builder
    _lock, _builder_lock, _builder = threading.Lock(), threading.Lock(), None


os.register_at_fork(after_in_child=_after_fork_in_child)


invalidate = versions.invalidate


def get_snapshot() -> Snapshot:
    """The compiled live catalogue of the current version (built if needed;
    in the background, serving the previous one, when another process changed
    it: see the module's docstring).

    The version is read before the rows, so a publish that commits during a
    build is seen as a newer version on a later call.
    """
    served = _served
    version = versions.current(served.snapshot.version if served else None)
    if served is not None and served.snapshot.version == version:
        return served.snapshot
    changes = versions.changes()
    if served is not None and changes == served.changes and conf.build_in_background():
        _start_background_build(version, served.generation, changes)
        return served.snapshot
    # Not kept here while building: the replaced snapshot can be freed.
    del served
    return _build_now(version)


def wait_for_background_build(timeout: float | None = None) -> bool:
    """Wait for the background build in progress, if any; ``False`` if it is
    still running after ``timeout`` seconds."""
    builder = _builder
    if builder is not None:
        builder.join(timeout)
        return not builder.is_alive()
    return True


def _build_now(version: str) -> Snapshot:
    with warm.collection_paused():
        with _lock:
            swapped = _served is None or _served.snapshot.version != version
            if swapped:
                changes = versions.changes()
                _swap(build_snapshot(version, previous=_previous()), changes)
            assert _served is not None
            built = _served.snapshot
        if swapped:
            warm.freeze()
    return built


def _previous() -> Snapshot | None:
    served = _served
    return served.snapshot if served else None


def _swap(snapshot: Snapshot, changes: int) -> None:
    """Serve ``snapshot`` from now on (with ``_lock`` held)."""
    global _served
    _served = _Served(snapshot, changes, next(_generations))


def _start_background_build(version: str, generation: int, changes: int) -> None:
    global _builder
    if _builder is not None or time.monotonic() < _retry_at:
        return
    with _builder_lock:
        if _builder is not None:
            return
        _builder = threading.Thread(
            target=_build_in_background,
            args=(version, generation, changes),
            name="interaction-catalogue-build",
            daemon=True,
        )
        _builder.start()


def _build_in_background(version: str, generation: int, changes: int) -> None:
    global _builder, _retry_at
    try:
        with warm.collection_paused():
            if _build_and_swap(version, generation, changes):
                warm.freeze()
    except Exception:
        _retry_at = time.monotonic() + RETRY_SECONDS
        logger.exception(
            "The live catalogue (version %s) could not be built; serving the "
            "previous one, a later call retries.",
            version,
        )
    finally:
        # This thread's own connections, opened by the build.
        connections.close_all()
        with _builder_lock:
            _builder = None


def _build_and_swap(version: str, generation: int, changes: int) -> bool:
    """Build; swap the result in unless another build replaced the snapshot
    since the call that saw ``version`` read it (e.g. this process's own
    change, built at once: newer)."""
    built = build_snapshot(version, previous=_previous())
    with _lock:
        if _served is None or _served.generation != generation:
            return False
        _swap(built, changes)
        return True


@dataclass
class Rows:
    """The catalogue's rows a snapshot compiles: the live ones
    (:func:`live_rows`), or any others as long as they hold together (e.g.
    the latest revisions, :mod:`interaction.simulation.drafts`)."""

    environments: dict[int, Environment]
    categories: dict[int, OfferCategory]
    #: Space code -> space (the spaces that may be called).
    spaces: dict[str, OfferSpace]
    #: The offers that may be proposed.
    offers: dict[int, Offer]
    #: Offer id -> the ids of the spaces it is published on.
    offer_spaces: dict[int, set[int]]
    #: Offer id -> its weight rows, in order.
    offer_weights: dict[int, list[OfferWeight]]


def build_snapshot(version: str = "", previous: Snapshot | None = None) -> Snapshot:
    """The compiled catalogue of the live rows, labelled ``version`` (read
    before the rows), every offer's terms compiled; ``previous``: the snapshot
    it replaces, whose evaluators of unchanged terms are reused."""
    return compile_rows(live_rows(), version, previous)


def live_rows() -> Rows:
    """The published rows of the catalogue (every environment, every category:
    a category that is not live blocks its offers)."""
    environments = {env.pk: env for env in Environment.objects.all()}
    categories = {category.pk: category for category in OfferCategory.objects.all()}
    spaces = {
        space.code: space
        for space in OfferSpace.objects.filter(live=True)
        .select_related("fallback_space")
        .prefetch_related("content_fields")
    }
    offers = {
        offer.pk: offer
        for offer in Offer.objects.filter(live=True)
        .select_related("image", "category")
        .prefetch_related("image__renditions")
    }
    # Read apart rather than prefetched onto the rows, which compiling alone
    # needs: a prefetched relation ties every row into reference cycles (its
    # rows and querysets point back to it), and a replaced snapshot with
    # cycles is freed by a full garbage collection only (see :mod:`.warm`).
    offer_spaces: dict[int, set[int]] = defaultdict(set)
    for offer_id, space_id in Offer.spaces.through.objects.filter(
        offer__live=True
    ).values_list("offer_id", "offerspace_id"):
        offer_spaces[offer_id].add(space_id)
    offer_weights: dict[int, list[OfferWeight]] = defaultdict(list)
    for row in OfferWeight.objects.filter(offer__live=True).order_by(
        "sort_order", "pk"
    ):
        offer_weights[row.offer_id].append(row)
    return Rows(environments, categories, spaces, offers, offer_spaces, offer_weights)


def compile_rows(
    rows: Rows, version: str = "", previous: Snapshot | None = None
) -> Snapshot:
    """The compiled catalogue of ``rows`` (see :func:`build_snapshot`)."""
    environments, categories, spaces, offers = (
        rows.environments,
        rows.categories,
        rows.spaces,
        rows.offers,
    )
    offer_spaces, offer_weights = rows.offer_spaces, rows.offer_weights
    kinds = {
        env_id: {
            name: spec.kind
            for name, spec in env.condition_schema().contact_fields.items()
        }
        for env_id, env in environments.items()
    }
    space_rows = {space.pk: space for space in spaces.values()}
    compiled_offers: dict[int, list[CompiledOffer]] = {
        env_id: [] for env_id in environments
    }
    for offer in offers.values():
        compiled = _compile_offer(
            offer,
            environments,
            categories,
            space_rows,
            kinds,
            frozenset(offer_spaces.get(offer.pk, ())),
            offer_weights.get(offer.pk, []),
        )
        compiled_offers[offer.environment_id].append(compiled)

    rules: dict[int, list[CompiledRule]] = {env_id: [] for env_id in environments}
    for rule in TypologyRule.objects.filter(active=True, environment__in=environments):
        rules[rule.environment_id].append(
            _compile_rule(rule, compiled_offers[rule.environment_id], categories, kinds)
        )

    compiled_environments = {
        env_id: EnvironmentCatalogue(
            id=env_id,
            code=env.code,
            anonymous=env.is_anonymous,
            offers=tuple(sorted(compiled_offers[env_id], key=lambda o: o.id)),
            rules=tuple(rules[env_id]),
            categories_by_code={
                c.code: c.pk for c in categories.values() if c.environment_id == env_id
            },
            field_domains=_field_domains(env, kinds[env_id]),
        )
        for env_id, env in environments.items()
    }
    compiled_spaces = {
        code: _compile_space(
            space,
            categories,
            # Anonymous environments identify nobody: nothing to restrict.
            None
            if environments[space.environment_id].is_anonymous
            else kinds[space.environment_id],
        )
        for code, space in spaces.items()
    }
    catalogue = Catalogue(
        environments=compiled_environments,
        spaces=compiled_spaces,
        offers_by_space=index_by_space(compiled_environments, compiled_spaces),
    )
    # Only targetable fields are read (for conditions, formulas and rendering);
    # a dimension that is no longer allowed is not read at all.
    dimensions = {
        env_id: (env.dimension_model, tuple(kinds[env_id]))
        for env_id, env in environments.items()
        if env.dimension_model is not None and kinds[env_id]
    }
    # Every live offer compiled and every space's ranking index built now,
    # not on their first call (:mod:`.warm`).
    evaluators = warm.prepare(catalogue, previous.evaluators if previous else None)
    return Snapshot(
        catalogue, offers, spaces, dimensions, version, evaluators=evaluators
    )


def _field_domains(environment: Environment, kinds: dict[str, str]):
    """The lowest and highest value of each numeric contact field, which bound
    weight formulas for the ranking (one query per identified environment; a
    contact outside them later is ranked by evaluating every offer)."""
    model = environment.dimension_model
    names = ranking.numeric_fields(kinds)
    extremes = None
    if model is not None and names and not environment.is_anonymous:
        extremes = model._default_manager.aggregate(
            *(bound(name) for name in names for bound in (Min, Max))
        )
    return ranking.field_domains(kinds, extremes)


def _chain(category, categories):
    chain, node, seen = [], category, set()
    while node is not None and node.pk not in seen:
        chain.append(node)
        seen.add(node.pk)
        node = categories.get(node.parent_id)
    return chain


def _compile_offer(
    offer, environments, categories, space_rows, kinds, offer_space_ids, weights
) -> CompiledOffer:
    environment = environments[offer.environment_id]
    chain = _chain(categories[offer.category_id], categories)
    blocked = ""
    for category in chain:
        if not category.live:
            blocked = f"category “{category.code}” is not published"
            break
        if not category.enabled:
            blocked = f"category “{category.code}” is disabled"
            break
    filters = []
    if environment.target_filter:
        filters.append(TargetFilter("the environment", environment.target_filter))
    for category in reversed(chain):
        if category.target_filter:
            filters.append(
                TargetFilter(f"category “{category.code}”", category.target_filter)
            )
    if offer.target_filter:
        filters.append(TargetFilter("the offer", offer.target_filter))
    themes = frozenset(theme for category in chain for theme in category.theme_list)
    live_spaces = [space_rows[pk] for pk in offer_space_ids if pk in space_rows]
    terms = OfferTerms(
        blocked=blocked,
        window=intersect(
            [Window(offer.start_date, offer.end_date)]
            + [Window(c.start_date, c.end_date) for c in chain]
        ),
        filters=tuple(filters),
        kinds=kinds[offer.environment_id],
        # Saved conditions and formulas on a field no longer targetable (or
        # forced in without validation) make the offer ineligible.
        readable=frozenset(kinds[offer.environment_id]),
        incomplete_space_ids=frozenset(
            space.pk for space in offer.missing_content(live_spaces)
        ),
        weight_rows=tuple(
            WeightRow(
                formula=row.value,
                window=Window(row.start_date, row.end_date),
                space_id=row.space_id,
                condition=row.target_filter or None,
            )
            for row in weights
        ),
        multipliers=tuple(
            Multiplier(
                c.weight_multiplier, Window(c.multiplier_start, c.multiplier_end)
            )
            for c in chain
            if c.weight_multiplier != 1.0
        ),
    )
    return CompiledOffer(
        id=offer.pk,
        code=offer.code,
        label=offer.label,
        environment_id=offer.environment_id,
        category_id=offer.category_id,
        category_code=chain[0].code,
        category_ids=tuple(category.pk for category in chain),
        themes=themes,
        always_include=any(category.always_include for category in chain),
        space_ids=offer_space_ids,
        terms=terms,
    )


def offer_fields(compiled: CompiledOffer, categories) -> dict:
    """What a typology rule's "applies to offers" condition compares."""
    category = categories[compiled.category_id]
    return {
        "offer.id": compiled.id,
        "offer.code": compiled.code,
        "offer.label": compiled.label,
        "offer.category": category.code,
        "offer.category_path": category.tree_path,
        "offer.themes": ",".join(sorted(compiled.themes)),
    }


def _compile_rule(rule, compiled_offers, categories, kinds) -> CompiledRule:
    offer_ids = None
    if rule.offer_condition:
        applies = compile_predicate(rule.offer_condition)
        today = datetime.date.today()
        offer_ids = frozenset(
            offer.id
            for offer in compiled_offers
            if applies(offer_fields(offer, categories), today)
        )
    return CompiledRule(
        id=rule.pk,
        code=rule.code,
        channel=rule.channel,
        period=datetime.timedelta(days=rule.period_days, hours=rule.period_hours),
        quantity=rule.quantity,
        same_channel_only=rule.same_channel_only,
        counted_offers=rule.counted_offers,
        counted_statuses=statuses.COUNTED[rule.counted_statuses],
        global_capping=rule.global_capping,
        offer_ids=offer_ids,
        applies_to_contact=compile_predicate(
            rule.contact_condition, kinds[rule.environment_id]
        )
        # A condition on a field no longer targetable is not read: the rule
        # applies to every contact (it fails closed, caps never loosen).
        if rule.contact_condition
        and not untargetable_names(
            kinds[rule.environment_id], condition_names(rule.contact_condition)
        )
        else None,
    )


def _compile_space(space, categories, readable) -> CompiledSpace:
    default_category = categories.get(space.default_category_id)
    identification_fields = tuple(space.identification_field_list)
    if readable is not None and untargetable_names(readable, identification_fields):
        # Identifying by a field that is not targetable would make the API an
        # oracle on it: the space identifies nobody (fallback space, if any).
        identification_fields = ()
    return CompiledSpace(
        id=space.pk,
        code=space.code,
        label=space.label,
        environment_id=space.environment_id,
        channel=space.channel,
        real_time=space.real_time,
        max_offers=space.max_offers,
        identification_fields=identification_fields,
        fallback_space_code=space.fallback_space.code
        if space.fallback_space_id and space.fallback_space.live
        else None,
        store=space.store_propositions,
        initial_status=space.initial_status,
        accepted_status=space.accepted_status,
        default_category_id=default_category.pk if default_category else None,
        default_themes=tuple(space.default_theme_list),
    )
