"""What a call gives the engine, what it reads through, and what it returns."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from .catalogue import CompiledOffer, CompiledSpace


class EngineError(Exception):
    """A call the engine cannot answer; ``code`` says why, for the interfaces."""

    code = "error"


class UnknownSpace(EngineError):
    code = "unknown_space"


class SpaceNotUnitary(EngineError):
    code = "space_not_unitary"


@dataclass(frozen=True)
class Call:
    space: str
    contact_id: str | None = None
    visitor_id: str | None = None
    count: int = 1
    category: str | None = None
    themes: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    date: datetime.datetime | None = None
    seed: int | None = None
    inbound: bool = True
    #: Record why each candidate was kept or dropped (previews); the API and
    #: pages turn it off.
    explain: bool = True


class HistoryRow(NamedTuple):
    offer_id: int | None
    category_id: int | None
    channel: str
    status: str
    event_date: datetime.datetime


class HistoryReader(Protocol):
    def contact_history(
        self,
        environment_id: int,
        contact_key: str,
        visitor: bool,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> Sequence[HistoryRow]:
        """Every proposition of one contact (or visitor) in the window: one query."""

    def offer_counts(
        self,
        offer_ids: Sequence[int],
        since: datetime.datetime,
        until: datetime.datetime,
        channel: str | None,
        statuses: frozenset[str] | None,
    ) -> Mapping[int, int]:
        """All contacts' propositions per offer in the window (global capping)."""


#: ``lookup(environment_id, field names, values) -> (contact key, attributes)``
ContactLookup = Callable[
    [int, Sequence[str], Sequence[str]], "tuple[str, Mapping[str, Any]] | None"
]


@dataclass(frozen=True)
class Proposal:
    offer: CompiledOffer
    rank: int
    weight: float


@dataclass(frozen=True)
class Decision:
    """Why one candidate offer was kept or dropped."""

    offer_code: str
    kept: bool
    reason: str
    weight: float | None = None
    rank: int | None = None


@dataclass
class Outcome:
    space: CompiledSpace
    identified: bool
    contact_key: str | None
    visitor_id: str | None
    attributes: Mapping[str, Any]
    date: datetime.datetime
    proposals: list[Proposal] = field(default_factory=list)
    trace: list[Decision] = field(default_factory=list)
    reason: str = ""
