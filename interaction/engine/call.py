"""What a call gives the engine, what it reads through, and what it returns."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
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
    #: Offers the page shows already, not proposed again (one offer once per
    #: page): offer code -> the code of the space showing it ("": unknown).
    #: By code, as a page (and the JS client) knows them, whatever their
    #: environment. Built by :class:`PageOffers`.
    shown: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PageOffers:
    """The offers one page shows so far, in the order its calls are made: each
    call :meth:`excluding` them proposes none of them again."""

    #: Offer code -> the code of the first space showing it ("": unknown).
    shown: dict[str, str] = field(default_factory=dict)

    def add(self, space: str, offer_codes: Iterable[str]) -> None:
        for code in offer_codes:
            self.shown.setdefault(code, space)

    def excluding(self, call: Call) -> Call:
        """``call``, not proposing the offers shown so far."""
        if not self.shown:
            return call
        return dataclasses.replace(call, shown={**call.shown, **self.shown})


class HistoryRow(NamedTuple):
    """One stored proposition, as in-memory readers keep them (see
    :func:`interaction.engine.typology.count_rows`)."""

    offer_id: int | None
    category_id: int | None
    channel: str
    status: str
    event_date: datetime.datetime


#: What a :class:`Tally` counts per: each offer, each category, or everything.
PER_OFFER = "offer"
PER_CATEGORY = "category"
PER_ALL = "all"


@dataclass(frozen=True)
class Tally:
    """One count a personal typology rule needs of a contact's history: the
    propositions in the window ``date ± period``, on ``channel`` ("": every
    channel), with one of ``statuses`` (``None``: any), counted per ``per``.

    Readers count in the database and return only the counts that reach
    ``at_least`` (:attr:`History.reached`): a contact's whole history comes
    back as the few offers, categories or totals a rule excludes, however many
    propositions it holds.

    A ``decisive`` tally (``PER_ALL``) excludes every offer of the call once
    it reaches ``at_least``: its rule counts every proposition and applies to
    every offer and every contact, and the call traces no reasons. A reader
    may then stop counting it at ``at_least`` (the count it returns is at
    least ``at_least``, not the whole count) and leave the other tallies out
    of :attr:`History.reached`: they cannot change what the call proposes.
    """

    rule_id: int
    period: datetime.timedelta
    per: str
    channel: str
    statuses: frozenset[str] | None
    at_least: int
    decisive: bool = False

    @property
    def shape(self) -> tuple[str, bool, tuple[str, ...] | None]:
        """What the SQL of the count depends on (its values aside)."""
        statuses = None if self.statuses is None else tuple(sorted(self.statuses))
        return self.per, bool(self.channel), statuses


@dataclass(frozen=True)
class CapPeriod:
    """One global capping rule's counters in the period holding the call."""

    rule_id: int
    #: The channel counted ("": every channel).
    channel: str
    #: When the rule's current period started (see ``typology.period_start``).
    start: datetime.datetime
    quantity: int


@dataclass(frozen=True)
class HistoryRequest:
    """What a call needs of the history, read in one round trip."""

    date: datetime.datetime
    #: The counts the contact's personal rules need. Empty: none.
    tallies: tuple[Tally, ...] = ()
    #: The global caps whose used-up offers the call must know.
    caps: tuple[CapPeriod, ...] = ()


@dataclass(frozen=True)
class History:
    #: ``(rule id, offer or category id, or None for PER_ALL)`` -> the count,
    #: for every count of at least one proposition that reaches its tally's
    #: ``at_least``.
    reached: Mapping[tuple[int, int | None], int] = field(default_factory=dict)
    #: ``(rule id, offer id)`` of every cap of the request used up in its period.
    exhausted: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class Contact:
    #: The contact's primary key, as text: how its propositions refer to it.
    key: str
    #: The targetable fields conditions, formulas and renderings read.
    attributes: Mapping[str, Any]
    #: The history the lookup was asked for, when it read it along with the
    #: contact; ``None``: not read.
    history: History | None = None


class ContactDirectory(Protocol):
    def find(
        self,
        environment_id: int,
        fields: Sequence[str],
        values: Sequence[str],
        history: HistoryRequest | None,
    ) -> Contact | None:
        """The contact whose ``fields`` have ``values``, or ``None``.

        With ``history``, the directory may read the contact's history in the
        same query and return it in ``Contact.history``.
        """


class HistoryReader(Protocol):
    def read(
        self,
        environment_id: int,
        key: str | None,
        visitor: bool,
        request: HistoryRequest,
    ) -> History:
        """The request's tallies of one contact's (or visitor's) propositions
        (none without ``key``), and the used-up caps."""


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
    #: The candidates that passed eligibility and typology, best first: what
    #: the storage step falls back on when a capped offer ran out meanwhile.
    #: Every one when the call explains; otherwise the ``limit`` best, or
    #: ``core.CAPPED_DEPTH`` times as many when a global capping rule applies.
    ranking: list[tuple[CompiledOffer, float]] = field(default_factory=list)
    #: The global capping rules that apply to this contact: they may refuse
    #: an offer whose budget is used up.
    capping_rules: tuple[CompiledRule, ...] = ()
    #: Every global capping rule of the call's channel: a budget counts every
    #: contact's propositions, those of contacts it does not apply to too.
    counted_rules: tuple[CompiledRule, ...] = ()
    proposals: list[Proposal] = field(default_factory=list)
    trace: list[Decision] = field(default_factory=list)
    reason: str = ""
