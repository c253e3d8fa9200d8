"""What a call gives the engine, what it reads through, and what it returns."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from .catalogue import CompiledOffer, CompiledRule, CompiledSpace

#: The most offers one call may ask for (a space's own maximum applies too).
MAX_COUNT = 100
#: Joins the values of a space's identification fields in a contact's id.
ID_SEPARATOR = "|"


@dataclass(frozen=True)
class Call:
    space: str
    #: How the caller identifies the contact: the values of the space's
    #: identification fields joined with ``ID_SEPARATOR`` (default: the pk).
    contact: str | None = None
    #: The anonymous visitor's opaque id.
    visitor: str | None = None
    count: int = 1
    category: str | None = None
    themes: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    date: datetime.datetime | None = None
    seed: int | None = None
    #: A real-time call (API, page): the space must take real-time calls.
    #: Previews and batch runs are not.
    real_time: bool = True
    #: Record why each candidate was kept or dropped (previews); the API and
    #: pages turn it off.
    explain: bool = True


class HistoryRow(NamedTuple):
    offer_id: int | None
    category_id: int | None
    channel: str
    status: str
    event_date: datetime.datetime


#: ``(since, until)``: the part of a contact's history a call reads.
Period = tuple[datetime.datetime, datetime.datetime]


@dataclass(frozen=True)
class Contact:
    #: The contact's primary key, as text: how its propositions refer to it.
    key: str
    #: The targetable fields conditions, formulas and renderings read.
    attributes: Mapping[str, Any]
    #: The contact's history in the period the lookup was asked for, when it
    #: read it along with the contact; ``None``: not read.
    history: Sequence[HistoryRow] | None = None


class ContactDirectory(Protocol):
    def find(
        self,
        environment_id: int,
        fields: Sequence[str],
        values: Sequence[str],
        history: Period | None,
    ) -> Contact | None:
        """The contact whose ``fields`` have ``values``, or ``None``.

        With ``history``, the directory may read the contact's history in that
        period in the same query and return it in ``Contact.history``.
        """


class HistoryReader(Protocol):
    def contact_history(
        self, environment_id: int, key: str, visitor: bool, period: Period
    ) -> Sequence[HistoryRow]:
        """Every proposition of one contact (or visitor) in the period."""

    def offer_counts(
        self,
        offer_ids: Sequence[int],
        period: Period,
        channel: str | None,
        statuses: frozenset[str] | None,
    ) -> Mapping[int, int]:
        """All contacts' propositions per offer in the period (global capping)."""


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
    visitor: str | None
    attributes: Mapping[str, Any]
    date: datetime.datetime
    #: How many offers the call may show: min(count, the space's maximum).
    limit: int = 0
    #: Every candidate that passed eligibility and typology, best first: what
    #: the storage step falls back on when a capped offer ran out meanwhile.
    ranking: list[tuple[CompiledOffer, float]] = field(default_factory=list)
    #: The global capping rules that applied to this call.
    capping_rules: tuple[CompiledRule, ...] = ()
    proposals: list[Proposal] = field(default_factory=list)
    trace: list[Decision] = field(default_factory=list)
    reason: str = ""
