"""The compiled live catalogue the engine reads: plain, immutable data.

Built once per publish by :mod:`interaction.delivery.snapshot` from published rows only,
shared by every call of every thread, never changed by a call (each offer's
terms are compiled to a function when the catalogue is built).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .evaluation import OfferTerms
from .predicates import Predicate


def split_themes(themes: str | Iterable[str] | None) -> tuple[str, ...]:
    """Themes from "travel, Summer" or a list: trimmed, lowercased, no blanks.

    Themes match case-insensitively everywhere: categories, spaces and calls.
    """
    if not themes:
        return ()
    if isinstance(themes, str):
        themes = themes.split(",")
    return tuple(theme.strip().lower() for theme in themes if theme and theme.strip())


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
    #: ``terms.evaluate(values, today, date, space_id)``: weight or reason.
    terms: OfferTerms


@dataclass(frozen=True)
class CompiledSpace:
    id: int
    code: str
    label: str
    environment_id: int
    channel: str
    real_time: bool
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
    #: Numeric contact field -> its (lowest, highest) value in the dimension's
    #: table when the catalogue was built (``ranking.field_domains``): what
    #: bounds weight formulas for ranking big spaces. Empty: no bounds.
    field_domains: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    environments: Mapping[int, EnvironmentCatalogue]
    spaces: Mapping[str, CompiledSpace]
    #: Space id -> the offers of the space's environment published on it, by id:
    #: a call only looks at its space's offers, however large the catalogue.
    offers_by_space: Mapping[int, tuple[CompiledOffer, ...]] = field(
        default_factory=dict
    )

    @functools.cached_property
    def derived(self) -> dict[Hashable, Any]:
        """What is derived from the catalogue on first use and kept as long as
        it lives (each space's ranking index, see :mod:`.ranking`); a copy made
        with ``dataclasses.replace`` starts empty."""
        return {}


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
