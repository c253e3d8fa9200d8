"""The compiled live catalogue the engine reads: plain, immutable data.

Built once per publish by :mod:`interaction.snapshot` from published rows only,
shared by every call of every thread, never written to during a call.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .predicates import Predicate


@dataclass(frozen=True)
class Window:
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None

    def contains(self, moment: datetime.datetime) -> bool:
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment <= self.end
        )


@dataclass(frozen=True)
class TargetFilter:
    #: Whose filter it is, for the trace: "the offer", "category “cards”".
    label: str
    condition: dict


@dataclass(frozen=True)
class WeightRow:
    formula: str
    window: Window = Window()
    space_id: int | None = None
    condition: dict | None = None


@dataclass(frozen=True)
class Multiplier:
    value: float
    window: Window = Window()


@dataclass(frozen=True)
class OfferTerms:
    """What decides whether an offer is eligible for a contact, and its weight.

    Compiled into the offer's ``evaluate`` function by
    :func:`interaction.engine.evaluation.compile_evaluator`.
    """

    #: Why the offer can never be proposed (a disabled or unpublished ancestor).
    blocked: str = ""
    #: The intersection of the offer's and every ancestor category's dates;
    #: ``None`` when none of them is dated.
    window: Window | None = None
    #: Environment, ancestor categories' and the offer's target filters.
    filters: tuple[TargetFilter, ...] = ()
    #: Field name -> kind, for comparing dates as dates.
    kinds: Mapping[str, str] = field(default_factory=dict)
    #: Space ids whose required content fields this offer leaves empty.
    incomplete_space_ids: frozenset[int] = frozenset()
    weight_rows: tuple[WeightRow, ...] = ()
    multipliers: tuple[Multiplier, ...] = ()


#: ``evaluate(values, today, date, space_id)``: the offer's weight for these
#: contact values at ``date`` in the space (≤ 0: not eligible), or why the
#: offer is not eligible.
OfferEvaluator = Callable[
    [Mapping[str, Any], datetime.date, datetime.datetime, int], "float | str"
]


@dataclass(frozen=True)
class CompiledOffer:
    id: int
    code: str
    label: str
    environment_id: int
    category_id: int
    category_code: str
    #: The offer's category and its ancestors, nearest first.
    category_ids: tuple[int, ...]
    themes: frozenset[str]
    always_include: bool
    space_ids: frozenset[int]
    terms: OfferTerms
    evaluate: OfferEvaluator


@dataclass(frozen=True)
class CompiledSpace:
    id: int
    code: str
    label: str
    environment_id: int
    channel: str
    unitary: bool
    max_offers: int
    identification_fields: tuple[str, ...]
    fallback_space_code: str | None
    store: bool
    initial_status: str
    accepted_status: str
    default_category_id: int | None
    default_themes: tuple[str, ...]


@dataclass(frozen=True)
class CompiledRule:
    id: int
    code: str
    channel: str
    period: datetime.timedelta
    quantity: int
    same_channel_only: bool
    counted_offers: str
    counted_statuses: frozenset[str] | None
    global_capping: bool
    #: Ids of the live offers the rule applies to; ``None``: every offer.
    offer_ids: frozenset[int] | None
    applies_to_contact: Predicate | None


@dataclass(frozen=True)
class EnvironmentCatalogue:
    id: int
    code: str
    anonymous: bool
    offers: tuple[CompiledOffer, ...]
    rules: tuple[CompiledRule, ...]
    categories_by_code: Mapping[str, int]
    #: The longest typology period: how far back and ahead history is read.
    max_period: datetime.timedelta = datetime.timedelta(0)


@dataclass(frozen=True)
class Catalogue:
    environments: Mapping[int, EnvironmentCatalogue]
    spaces: Mapping[str, CompiledSpace]
    #: Space id -> the offers of the space's environment published on it, by id:
    #: a call only looks at its space's offers, however large the catalogue.
    offers_by_space: Mapping[int, tuple[CompiledOffer, ...]] = field(
        default_factory=dict
    )
    version: str = ""


def index_by_space(
    environments: Mapping[int, EnvironmentCatalogue],
    spaces: Mapping[str, CompiledSpace],
) -> dict[int, tuple[CompiledOffer, ...]]:
    """Each space's offers (those of its environment published on it), by id."""
    return {
        space.id: tuple(
            offer
            for offer in environments[space.environment_id].offers
            if space.id in offer.space_ids
        )
        for space in spaces.values()
        if space.environment_id in environments
    }


def intersect(windows: list[Window]) -> Window | None:
    """The window inside every one of ``windows``; ``None`` if none is dated."""
    starts = [w.start for w in windows if w.start is not None]
    ends = [w.end for w in windows if w.end is not None]
    if not starts and not ends:
        return None
    return Window(max(starts, default=None), min(ends, default=None))
