"""Step 7 of SPEC §5 without evaluating every offer of a big space.

A call shows a few offers (``limit``, at most :data:`~.call.MAX_COUNT`) out of
a space that may hold thousands. :func:`best` finds exactly the ones a full
evaluation would rank first, evaluating the offers in the order of an upper
bound of their weight and stopping as soon as the offers kept beat every
bound left.

**Groups.** A space's offers are grouped by how their weight is computed:
the same weight rows in the space (formula, dates, condition), the same
multipliers. Offers of one group weigh the same whenever they are eligible;
only their target filters, dates and required content differ. Each group has
a *static bound* (:func:`weight_bound`): interval arithmetic over its
formulas (:func:`~.formulas.formula_interval`), given the domain of each
numeric contact field (the lowest and highest value of the dimension's
table, ``EnvironmentCatalogue.field_domains``), times its multipliers. Groups
are sorted by bound once per catalogue (:func:`space_index`).

**The scan.** A call takes the groups by bound, highest first. A group of
several offers is *refined* first: its weight for this contact is computed
once (the group's own compiled rows and multipliers) and the group goes back
in line at that exact weight; a group of one offer is not (evaluating the
offer costs the same). Offers are then evaluated, their target filters
included, into a bounded heap of the best ``depth`` (typology exclusions are
asked only of the offers that would enter it). The scan stops when the heap
is full and the next bound is below the lowest weight kept.

**Ties** are broken by each offer's key (:func:`.ties.tie_key`: a function of
the call's seed, the contact and the offer only), as in a full evaluation,
so the scan proposes exactly what a full evaluation proposes, in the same
order, for the same seed. Computing a key costs less than evaluating the
offer: a refined group's keys are computed at once (:meth:`.ties.Ties.of`)
and its members taken in the order of their keys, so once the heap is full
at the group's weight, the first member with a larger key than the lowest
kept one's ends the group.

**Soundness.** The bounds hold for the values within the fields' domains.
Values read that are not numbers (``None``, text) make a formula 0, which
every bound includes; a number out of its field's domain (a contact created
or changed since the catalogue was built) makes :meth:`SpaceIndex.sound`
false, and the call evaluates every offer. A formula reading a field without
a domain (``context.*``, a field of an empty table) is bounded by the
formulas' own domain (±10¹⁵), so its offers are evaluated early.
"""

from __future__ import annotations

import bisect
import datetime
import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from .catalogue import Catalogue, CompiledOffer, CompiledSpace
from .conditions import BOOL, NUMBER
from .errors import FormulaError
from .evaluation import Multiplier, OfferTerms, WeightRow, is_compiled, precompile
from .formulas import (
    EVERYTHING,
    MAX_MAGNITUDE,
    Interval,
    formula_interval,
    names,
    parse,
)
from .ties import Ids, Ties

Ranked = tuple[CompiledOffer, float]


# -- Field domains ---------------------------------------------------------------


def numeric_fields(kinds: Mapping[str, str]) -> list[str]:
    """The contact fields (of a dimension's ``name -> kind``) whose lowest and
    highest values bound weight formulas: the numbers."""
    return sorted(name for name, kind in kinds.items() if kind == NUMBER)


def field_domains(
    kinds: Mapping[str, str], extremes: Mapping[str, Any] | None
) -> dict[str, Interval]:
    """``EnvironmentCatalogue.field_domains``: each numeric field's
    ``(lowest, highest)`` value, from ``extremes`` as Django's
    ``aggregate(Min("age"), Max("age"), ...)`` names them (``"age__min"``,
    ``"age__max"``), over :func:`numeric_fields`; true/false fields lie in
    ``(0, 1)``. A field without both extremes (an empty table, only nulls) or
    with one that is not a finite number gets no domain: formulas reading it
    are bounded by the formulas' own domain only.
    """
    extremes = extremes or {}
    domains: dict[str, Interval] = {}
    for name, kind in kinds.items():
        if kind == BOOL:
            domains[name] = (0, 1)
            continue
        if kind != NUMBER:
            continue
        low = _finite(extremes.get(f"{name}__min"))
        high = _finite(extremes.get(f"{name}__max"))
        if low is not None and high is not None and low <= high:
            domains[name] = (low, high)
    return domains


def _finite(value: object) -> float | None:
    """``value`` as formulas read it (``Decimal`` as ``float``) if it is a finite
    number; ``None`` otherwise."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- Bounds --------------------------------------------------------------------------


def weight_bound(rows: Sequence[Interval], multipliers: Sequence[Multiplier]) -> float:
    """The highest weight an offer with weight rows valued within ``rows``
    (the intervals of the rows that may apply; none: weight 1) and
    ``multipliers`` can get: ``-inf`` if it can never be a number.

    The weight is the highest applicable row (an offer no row applies to
    weighs 0 and stops there), times each multiplier that is active; one
    whose dates may or may not hold is taken both ways. The interval is
    carried whole because a negative multiplier turns the lowest weight into
    the highest; products are computed as the evaluation computes them
    (``weight *= multiplier``).
    """
    if rows:
        low = min(row[0] for row in rows)
        high = max(row[1] for row in rows)
    else:
        low = high = 1.0
    for multiplier in multipliers:
        value = multiplier.value
        if not math.isfinite(value):
            return -math.inf  # the weight is always out of range
        first, second = low * value, high * value
        scaled_low, scaled_high = min(first, second), max(first, second)
        window = multiplier.window
        if window.start is None and window.end is None:
            low, high = scaled_low, scaled_high
        else:
            low, high = min(low, scaled_low), max(high, scaled_high)
    # Beyond the domain the offer is ineligible: nothing higher counts.
    return min(high, MAX_MAGNITUDE)


@dataclass(frozen=True)
class Threshold:
    """A group's members sorted by the threshold their target filters set on
    one numeric field, in one direction (``age >= 30``, ``score < 5``): the
    members a contact may be eligible for are a prefix."""

    field: str
    #: ``True``: upper bounds (``<``, ``<=``), kept negated.
    upper: bool
    #: Each member's ``(threshold, strict)``, ascending; ``(-inf, False)``:
    #: no such threshold.
    keys: tuple[tuple[float, bool], ...]

    def cut(self, values: Mapping[str, Any]) -> int:
        """How many members (of the sorted ones) the contact's value passes."""
        value = values.get(self.field)
        if value is None:
            # Fails every threshold (SQL's null).
            return bisect.bisect_right(self.keys, (-math.inf, False))
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            if value == value and abs(value) != math.inf:
                key = (-value if self.upper else value, False)
                return bisect.bisect_right(self.keys, key)
        # Not a number: the members' evaluations decide.
        return len(self.keys)


@dataclass(frozen=True)
class Group:
    """Offers of a space whose weight is computed alike."""

    #: The highest weight its offers can get, for values within the domains.
    bound: float
    #: By id, or by ``threshold``'s keys.
    offers: tuple[CompiledOffer, ...]
    #: Its rows in the space and multipliers, as terms compiled on first use:
    #: the weight of every offer of the group that is eligible. ``None`` for
    #: a group of one offer.
    weight: OfferTerms | None = None
    threshold: Threshold | None = None
    #: ``offers``' ids packed for computing their tie keys at once; ``None``
    #: for a group of one offer.
    ids: Ids | None = None


@dataclass(frozen=True)
class SpaceIndex:
    """A space's offers that may be proposed, grouped and sorted by bound."""

    #: Highest bound first; offers that can never weigh more than 0 left out.
    groups: tuple[Group, ...]
    #: ``(name, lowest, highest)`` of every field domain a bound relies on.
    checks: tuple[tuple[str, float, float], ...] = ()

    def sound(self, values: Mapping[str, Any]) -> bool:
        """Whether the bounds hold for a contact with ``values``: every number
        the formulas read within its field's domain (a value that is not a
        number makes a formula 0, which the bounds include)."""
        for name, low, high in self.checks:
            value = values.get(name)
            if isinstance(value, int | float):
                if not low <= value <= high:
                    return False
            elif isinstance(value, Decimal) and not low <= float(value) <= high:
                return False
        return True


#: Group weights compiled once per process (whatever catalogue they come from):
#: ``(rows, multipliers, kinds)`` -> their terms, compiled on first use.
_weights: dict[tuple[Any, ...], OfferTerms] = {}
_MAX_WEIGHTS = 10_000


def build_index(
    space: CompiledSpace,
    offers: Sequence[CompiledOffer],
    domains: Mapping[str, Interval],
) -> SpaceIndex:
    """The ranking index of ``space`` holding ``offers`` (its offers, by id)."""
    members: dict[tuple[Any, ...], list[CompiledOffer]] = {}
    shapes: dict[tuple[Any, ...], tuple[tuple[WeightRow, ...], Mapping[str, str]]] = {}
    kinds_keys: dict[int, str] = {}
    for offer in offers:
        terms = offer.terms
        if terms.blocked or space.id in terms.incomplete_space_ids:
            continue  # never eligible here
        rows = tuple(
            row if row.space_id is None else replace(row, space_id=None)
            for row in terms.weight_rows
            if row.space_id is None or row.space_id == space.id
        )
        kinds_key = kinds_keys.get(id(terms.kinds))
        if kinds_key is None:
            kinds_key = kinds_keys[id(terms.kinds)] = repr(sorted(terms.kinds.items()))
        key = (
            tuple(
                (row.formula, row.window, repr(row.condition) if row.condition else "")
                for row in rows
            ),
            terms.multipliers,
            kinds_key,
        )
        group = members.get(key)
        if group is None:
            members[key] = [offer]
            shapes[key] = (rows, terms.kinds)
        else:
            group.append(offer)

    intervals: dict[str, Interval] = {}
    relied_on: set[str] = set()
    groups = []
    for key, offers_of_group in members.items():
        rows, kinds = shapes[key]
        multipliers: tuple[Multiplier, ...] = key[1]
        row_intervals = [
            _formula_interval(row.formula, domains, intervals, relied_on)
            for row in rows
        ]
        bound = weight_bound(row_intervals, multipliers)
        if not bound > 0:
            continue  # only weights above 0 are proposed
        if len(offers_of_group) == 1:
            groups.append(Group(bound, tuple(offers_of_group)))
            continue
        weight = _weights.get(key)
        if weight is None:
            if len(_weights) >= _MAX_WEIGHTS:
                _weights.clear()
            weight = _weights[key] = OfferTerms(
                kinds=kinds, weight_rows=rows, multipliers=multipliers
            )
        sorted_offers, threshold = _by_threshold(offers_of_group)
        ids = Ids([offer.id for offer in sorted_offers])
        groups.append(Group(bound, sorted_offers, weight, threshold, ids))
    groups.sort(key=lambda group: -group.bound)
    checks = tuple((name, *domains[name]) for name in sorted(relied_on))
    return SpaceIndex(tuple(groups), checks)


def _formula_interval(
    formula: str,
    domains: Mapping[str, Interval],
    intervals: dict[str, Interval],
    relied_on: set[str],
) -> Interval:
    interval = intervals.get(formula)
    if interval is None:
        try:
            tree = parse(formula)
        except FormulaError:
            # Never compiles: evaluating the offer says so.
            interval = EVERYTHING
        else:
            interval = formula_interval(tree, domains)
            relied_on |= names(tree) & domains.keys()
        intervals[formula] = interval
    return interval


def necessary_thresholds(
    terms: OfferTerms,
) -> dict[tuple[str, bool], tuple[float, bool]]:
    """The thresholds ``terms``' target filters set on numeric fields, each a
    condition of the offer's eligibility (a comparison with a number, alone
    or in an ``all``): ``(field, upper) -> (threshold, strict)``, the
    strictest of each; upper bounds negated (``age < 30``: ``(-30, True)``).
    """
    found: dict[tuple[str, bool], tuple[float, bool]] = {}
    pending: list[Any] = [target_filter.condition for target_filter in terms.filters]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if "all" in node:
            if isinstance(node["all"], list):
                pending.extend(node["all"])
            continue
        op, value, name = node.get("op"), node.get("value"), node.get("field")
        if (
            op not in _THRESHOLDS
            or not isinstance(name, str)
            or terms.kinds.get(name) != NUMBER
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            continue
        upper, strict = _THRESHOLDS[op]
        slot = (name, upper)
        key = (-value if upper else value, strict)
        found[slot] = max(found.get(slot, key), key)
    return found


#: Comparison -> (an upper bound?, strict?)
_THRESHOLDS = {
    ">=": (False, False),
    ">": (False, True),
    "<=": (True, False),
    "<": (True, True),
}
_NO_THRESHOLD = (-math.inf, False)


def _by_threshold(
    offers: list[CompiledOffer],
) -> tuple[tuple[CompiledOffer, ...], Threshold | None]:
    """``offers`` sorted by the threshold most of them set (if any do)."""
    thresholds = [necessary_thresholds(offer.terms) for offer in offers]
    counts: dict[tuple[str, bool], int] = {}
    for found in thresholds:
        for slot in found:
            counts[slot] = counts.get(slot, 0) + 1
    if not counts:
        return tuple(offers), None
    slot = max(counts, key=lambda slot: (counts[slot], slot))
    keyed = sorted(
        zip(
            (found.get(slot, _NO_THRESHOLD) for found in thresholds),
            offers,
            strict=True,
        ),
        key=lambda item: item[0],
    )
    return tuple(offer for _key, offer in keyed), Threshold(
        slot[0], slot[1], tuple(key for key, _offer in keyed)
    )


#: A call's scope: the category it asks for (``-1``: an unknown one) and
#: themes; ``None``: every offer of the space.
Scope = tuple[int | None, frozenset[str]]
#: How many scoped indexes a space keeps per catalogue; beyond, calls scan its
#: whole index, passing over the offers out of their scope.
MAX_SCOPES = 64


def in_scope(scope: Scope, offer: CompiledOffer) -> bool:
    """Whether ``offer`` is in ``scope``: always included, in the category or
    one below it, or sharing a theme."""
    category_id, themes = scope
    return (
        offer.always_include
        or (category_id is not None and category_id in offer.category_ids)
        or bool(themes and not themes.isdisjoint(offer.themes))
    )


def space_index(
    catalogue: Catalogue, space: CompiledSpace, scope: Scope | None = None
) -> SpaceIndex | None:
    """``space``'s ranking index (of the offers in ``scope``), built on first
    use once per catalogue; ``None`` when the space keeps :data:`MAX_SCOPES`
    scoped indexes already."""
    key = ("ranking", space.id, scope)
    index: SpaceIndex | None = catalogue.derived.get(key)
    if index is None:
        offers = catalogue.offers_by_space.get(space.id, ())
        if scope is not None:
            scopes = ("ranking scopes", space.id)
            if catalogue.derived.get(scopes, 0) >= MAX_SCOPES:
                return None
            catalogue.derived[scopes] = catalogue.derived.get(scopes, 0) + 1
            offers = tuple(offer for offer in offers if in_scope(scope, offer))
        environment = catalogue.environments[space.environment_id]
        index = build_index(space, offers, environment.field_domains)
        catalogue.derived[key] = index
    return index


def default_scope(space: CompiledSpace) -> Scope | None:
    """The scope of ``space``'s calls that ask for no category or theme."""
    if space.default_category_id is None and not space.default_themes:
        return None
    return space.default_category_id, frozenset(space.default_themes)


def prepare(catalogue: Catalogue) -> None:
    """Build every space's ranking index (for its calls' default scope) and
    compile its groups' weights now, rather than on the space's first calls:
    for the catalogue's build to call."""
    for space in catalogue.spaces.values():
        if space.environment_id in catalogue.environments:
            index = space_index(catalogue, space, default_scope(space))
            for group in index.groups if index is not None else ():
                if group.weight is not None and not is_compiled(group.weight):
                    precompile(group.weight)


# -- The scan ----------------------------------------------------------------------


class NothingLeft(Exception):
    """Raised by ``best``'s ``excluded`` when no offer can be kept any more
    (a typology rule excludes every offer)."""


def best(
    index: SpaceIndex,
    values: Mapping[str, Any],
    date: datetime.datetime,
    space_id: int,
    depth: int,
    tie: Ties,
    scope: Scope | None = None,
    excluded: Callable[[CompiledOffer], bool] | None = None,
) -> list[Ranked]:
    """The ``depth`` best eligible offers of ``index`` (weight above 0, not
    ``excluded``, in ``scope``; ``None``: the index's offers are), best first,
    equal weights by ``tie(offer id)``, lowest first: what a full evaluation
    ranks first, provided ``index.sound(values)``. ``date``: the call's."""
    #: A min-heap of (weight, -tie key, serial, offer): its first is the worst.
    kept: list[tuple[float, float, int, CompiledOffer]] = []
    if depth <= 0:
        return []
    today = date.date()
    groups = index.groups
    count = len(groups)
    position = 0
    #: Refined groups: (-their weight, position, members that may be eligible).
    refined: list[tuple[float, int, int]] = []
    full = False
    floor = floor_tie = -math.inf
    serial = 0
    while True:
        if refined and (position == count or -refined[0][0] >= groups[position].bound):
            negative, at, cut = heapq.heappop(refined)
            bound = -negative
            group = groups[at]
            assert group.ids is not None
            keys = tie.of(group.ids, cut)
            if full and bound == floor and -min(keys) < floor_tie:
                continue  # every member at best tied with the lowest kept
            order = sorted(range(cut), key=keys.__getitem__)
        elif position < count:
            group = groups[position]
            position += 1
            bound = group.bound
            if full and bound < floor:
                break
            if group.weight is not None:
                cut = len(group.offers)
                if group.threshold is not None:
                    cut = group.threshold.cut(values)
                    if not cut:
                        continue  # the contact passes none of their filters
                weight = group.weight.evaluate(values, today, date, space_id)
                if not isinstance(weight, str) and weight > 0:
                    heapq.heappush(refined, (-weight, position - 1, cut))
                continue
            keys = [tie(group.offers[0].id)]
            order = [0]
        else:
            break
        if full and bound < floor:
            break
        members = group.offers
        # Members in the order of their keys: once one is at best tied with
        # the lowest kept and has a larger key, so have the ones left.
        for i in order:
            if full and bound < floor:
                break  # neither this member nor the ones left can enter
            key = keys[i]
            if full and bound == floor and -key < floor_tie:
                break
            offer = members[i]
            if scope is not None and not in_scope(scope, offer):
                continue
            weight = offer.terms.evaluate(values, today, date, space_id)
            if isinstance(weight, str) or weight <= 0:
                continue
            if full and (weight < floor or (weight == floor and -key < floor_tie)):
                continue
            if excluded is not None:
                try:
                    if excluded(offer):
                        continue
                except NothingLeft:
                    return _best_first(kept)
            serial += 1
            entry = (weight, -key, serial, offer)
            if full:
                heapq.heapreplace(kept, entry)
            else:
                heapq.heappush(kept, entry)
                full = len(kept) >= depth
            if full:
                floor, floor_tie = kept[0][0], kept[0][1]
    return _best_first(kept)


def _best_first(kept: list[tuple[float, float, int, CompiledOffer]]) -> list[Ranked]:
    kept.sort(reverse=True)
    return [(offer, weight) for weight, _tie, _serial, offer in kept]
