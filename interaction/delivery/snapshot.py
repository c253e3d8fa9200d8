"""The compiled live catalogue: built from published rows, shared, invalidated.

Each process keeps one compiled :class:`Snapshot`. A version token in the
database says which one is current (:mod:`.versions`); publishing,
unpublishing or deleting anything in the catalogue writes a new token, so
every process rebuilds within a short interval.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..engine import statuses
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
    OfferTerms,
    TargetFilter,
    WeightRow,
    Window,
    intersect,
)
from ..engine.predicates import compile_predicate
from ..models import Environment, Offer, OfferCategory, OfferSpace, TypologyRule
from ..targeting.fields import untargetable_names
from . import versions

T = TypeVar("T")


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


_lock = threading.Lock()
_current: Snapshot | None = None


invalidate = versions.invalidate


def get_snapshot() -> Snapshot:
    """The compiled live catalogue of the current version (built if needed).

    The version is read before the rows, so a publish that commits during a
    build is seen as a newer version on a later call.
    """
    global _current
    snapshot = _current
    version = versions.current(snapshot.version if snapshot else None)
    if snapshot is not None and snapshot.version == version:
        return snapshot
    with _lock:
        if _current is None or _current.version != version:
            _current = build_snapshot(version)
        return _current


def build_snapshot(version: str = "") -> Snapshot:
    environments = {env.pk: env for env in Environment.objects.all()}
    kinds = {
        env_id: {
            name: spec.kind
            for name, spec in env.condition_schema().contact_fields.items()
        }
        for env_id, env in environments.items()
    }
    categories = {category.pk: category for category in OfferCategory.objects.all()}
    spaces = {
        space.code: space
        for space in OfferSpace.objects.filter(live=True)
        .select_related("fallback_space")
        .prefetch_related("content_fields")
    }
    space_rows = {space.pk: space for space in spaces.values()}
    offers = {
        offer.pk: offer
        for offer in Offer.objects.filter(live=True)
        .select_related("image", "category")
        .prefetch_related("image__renditions")
        .prefetch_related("spaces", "weights")
    }
    compiled_offers: dict[int, list[CompiledOffer]] = {
        env_id: [] for env_id in environments
    }
    for offer in offers.values():
        compiled = _compile_offer(offer, environments, categories, space_rows, kinds)
        compiled_offers[offer.environment_id].append(compiled)

    rules: dict[int, list[CompiledRule]] = {env_id: [] for env_id in environments}
    for rule in TypologyRule.objects.filter(active=True):
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
    return Snapshot(catalogue, offers, spaces, dimensions, version)


def _chain(category, categories):
    chain, node, seen = [], category, set()
    while node is not None and node.pk not in seen:
        chain.append(node)
        seen.add(node.pk)
        node = categories.get(node.parent_id)
    return chain


def _compile_offer(offer, environments, categories, space_rows, kinds) -> CompiledOffer:
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
    offer_space_ids = frozenset(space.pk for space in offer.spaces.all())
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
            for row in offer.weights.all()
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
