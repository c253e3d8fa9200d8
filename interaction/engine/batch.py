"""Batch runs' choosing (SPEC §6): a whole population, contact by contact.

Each contact is ranked exactly as an inbound call for that contact ranks it
(:func:`.core.rank`: the same eligibility, weights, typology rules over its
history and arbitration, ties ordered by the run's seed and the contact),
so a run and inbound calls with the same catalogue, date and seed propose
the same offers contact by contact. What a run adds:

- **global caps, shared set-based** (:func:`allocate`): the offers of a
  chunk of contacts are granted against the budgets left, highest weight
  first across the chunk (equal weights: contacts in the chunk's order); a
  contact refused a capped offer gets the next one of its ranking, as an
  inbound call does when storing;
- **"exclude contacts who get fewer than N offers"**: such a contact gets
  nothing, and what it took of a budget goes to the next contacts.

Reading the contacts and writing the propositions are the Django side's
(:mod:`interaction.campaigns.runs`).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from . import core, typology
from .call import Call, Contact, History, HistoryRequest, Outcome, Proposal
from .catalogue import Catalogue, CompiledOffer, CompiledRule, CompiledSpace
from .errors import UnknownSpace

#: A global cap's counter in a run: (rule id, offer id). A run's calls share
#: one date and one space, hence one channel and one period per rule.
Counter_ = tuple[int, int]


@dataclass(frozen=True)
class Choice:
    """What a run proposes to one contact."""

    contact: Contact
    proposals: list[Proposal]
    #: Left out for getting fewer offers than the campaign's minimum.
    excluded: bool = False


def rank_contacts(
    catalogue: Catalogue,
    call: Call,
    contacts: Iterable[Contact],
    *,
    explain: bool = False,
) -> list[Outcome]:
    """Each contact ranked as an inbound ``call`` for it would be (``call.contact``
    is ignored: each contact comes with its attributes and its history, read
    with the chunk). ``call.date`` is required. ``explain``: every candidate
    ranked and each decision traced, as a preview's (same proposals; for a
    simulation's coverage diagnostics)."""
    date = call.date
    if date is None:
        raise ValueError("A batch call has a date.")
    space = catalogue.spaces.get(call.space)
    if space is None:
        raise UnknownSpace(f"No live space “{call.space}”.")
    call = dataclasses.replace(call, real_time=False, explain=explain)
    return [_rank(catalogue, call, space, contact, date) for contact in contacts]


def _rank(
    catalogue: Catalogue,
    call: Call,
    space: CompiledSpace,
    contact: Contact,
    date: datetime.datetime,
) -> Outcome:
    outcome = Outcome(space, True, contact.key, None, contact.attributes, date)
    return core.rank(catalogue, call, outcome, contact.history, _NO_READER)


class _NoReader:
    """Batch contacts come with their history: nothing is read per contact."""

    def read(
        self,
        environment_id: int,
        key: str | None,
        visitor: bool,
        request: HistoryRequest,
    ) -> History:
        return History()


_NO_READER = _NoReader()


def capped_counters(outcome: Outcome) -> list[CompiledRule]:
    """The global capping rules whose counters storing ``outcome``'s
    propositions takes (as :mod:`interaction.delivery.storage` takes them)."""
    status = outcome.space.initial_status
    return [rule for rule in outcome.capping_rules if typology.takes_cap(rule, status)]


def counters_needed(outcomes: Iterable[Outcome]) -> dict[Counter_, CompiledRule]:
    """Every counter an offer of the outcomes' rankings may take, with its rule."""
    needed: dict[Counter_, CompiledRule] = {}
    for outcome in outcomes:
        rules = capped_counters(outcome)
        if not rules:
            continue
        for offer, _weight in outcome.ranking:
            for rule in rules:
                if typology.applies_to(rule, offer.id):
                    needed[(rule.id, offer.id)] = rule
    return needed


@dataclass
class Allocation:
    choices: list[Choice]
    #: How much of each counter the choices take.
    taken: Counter[Counter_]


def allocate(
    outcomes: Sequence[Outcome],
    contacts: Sequence[Contact],
    left: Mapping[Counter_, int] | None = None,
    minimum: int = 0,
) -> Allocation:
    """The propositions of a chunk of contacts (``outcomes``, in the chunk's
    order, ranked by :func:`rank_contacts`), given ``left``: what each
    counter of :func:`counters_needed` has left of its budget (a counter
    missing: none left). A contact getting fewer than ``minimum`` offers is
    excluded.

    Without any counter this is :func:`.core.choose` contact by contact. With
    counters, offers are granted highest weight first across the chunk
    (equal weights: contacts in the chunk's order, then each contact's own
    order); a contact whose offer is refused (a counter used up) gets its
    next one, within the depth the ranking kept (as an inbound call storing).
    Contacts excluded for getting fewer than ``minimum`` give back what they
    took and the grant starts again without them, until none is excluded.
    """
    if len(contacts) != len(outcomes):
        raise ValueError("One outcome per contact.")
    needs = [capped_counters(outcome) for outcome in outcomes]
    kept: list[Granted]
    if not any(needs):
        kept = [[(p.offer, p.weight, ()) for p in o.proposals] for o in outcomes]
        excluded = {i for i, offers in enumerate(kept) if len(offers) < minimum}
    else:
        kept, excluded = _grant_until_stable(outcomes, needs, dict(left or {}), minimum)
    choices = []
    taken: Counter[Counter_] = Counter()
    for index, contact in enumerate(contacts):
        if index in excluded:
            choices.append(Choice(contact, [], True))
            continue
        proposals = []
        counted = _counted_only(outcomes[index])
        for rank, (offer, weight, counters) in enumerate(kept[index], 1):
            proposals.append(Proposal(offer, rank, weight))
            taken.update(counters)
            taken.update(
                (rule.id, offer.id)
                for rule in counted
                if typology.applies_to(rule, offer.id)
            )
        choices.append(Choice(contact, proposals))
    return Allocation(choices, taken)


def _counted_only(outcome: Outcome) -> list[CompiledRule]:
    """The budgets that count this contact's propositions without applying to
    it (a contact condition it does not match): counted, never refusing."""
    applying = {rule.id for rule in outcome.capping_rules}
    status = outcome.space.initial_status
    return [
        rule
        for rule in outcome.counted_rules
        if rule.id not in applying and typology.takes_cap(rule, status)
    ]


#: One contact's granted offers: (offer, weight, the counters it takes).
Granted = list[tuple[CompiledOffer, float, Sequence[Counter_]]]


def _grant_until_stable(
    outcomes: Sequence[Outcome],
    needs: Sequence[list[CompiledRule]],
    left: Mapping[Counter_, int],
    minimum: int,
) -> tuple[list[Granted], set[int]]:
    """Grant (:func:`_grant`) again as long as contacts short of ``minimum``
    hold some budget: they are excluded, and what they held may complete
    others (a contact short only for want of budget is excluded last)."""
    entries = sorted(
        (-weight, index, position)
        for index, outcome in enumerate(outcomes)
        for position, (_offer, weight) in enumerate(outcome.ranking)
    )
    excluded: set[int] = set()
    while True:
        kept = _grant(outcomes, needs, entries, left, excluded)
        short = {
            index
            for index, offers in enumerate(kept)
            if index not in excluded and len(offers) < minimum
        }
        holding = {
            index for index in short if any(counters for *_, counters in kept[index])
        }
        if not holding:
            return kept, excluded | short
        excluded |= holding


def _grant(
    outcomes: Sequence[Outcome],
    needs: Sequence[list[CompiledRule]],
    entries: Sequence[tuple[float, int, int]],
    budgets: Mapping[Counter_, int],
    excluded: set[int],
) -> list[Granted]:
    """One pass of :func:`allocate` over ``entries`` (every contact's ranked
    offers, highest weight first)."""
    left = dict(budgets)
    kept: list[Granted] = [[] for _ in outcomes]
    for _negative, index, position in entries:
        outcome = outcomes[index]
        if index in excluded or len(kept[index]) >= outcome.limit:
            continue
        offer, weight = outcome.ranking[position]
        counters = [
            (rule.id, offer.id)
            for rule in needs[index]
            if typology.applies_to(rule, offer.id)
        ]
        if any(left.get(counter, 0) <= 0 for counter in counters):
            continue  # refused: the contact's next offer may take its place
        for counter in counters:
            left[counter] -= 1
        kept[index].append((offer, weight, counters))
    return kept


def choose_for_contacts(
    catalogue: Catalogue,
    call: Call,
    contacts: Sequence[Contact],
    *,
    minimum: int = 0,
    left: Mapping[Counter_, int] | None = None,
) -> list[Choice]:
    """Rank and allocate in one step (a chunk whose budgets are known)."""
    outcomes = rank_contacts(catalogue, call, contacts)
    return allocate(outcomes, contacts, left, minimum).choices
