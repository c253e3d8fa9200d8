"""The offer engine's steps 1-7 of SPEC §5, for one call."""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from . import ranking, ties, typology
from .call import (
    ID_SEPARATOR,
    Call,
    ContactDirectory,
    Decision,
    History,
    HistoryReader,
    HistoryRequest,
    Outcome,
    Proposal,
)
from .catalogue import (
    Catalogue,
    CompiledOffer,
    CompiledRule,
    CompiledSpace,
    EnvironmentCatalogue,
)
from .errors import SpaceNotRealTime, UnknownSpace
from .wording import counted

Ranked = tuple[CompiledOffer, float]


def propose(
    catalogue: Catalogue,
    call: Call,
    directory: ContactDirectory,
    history: HistoryReader,
) -> Outcome:
    """Rank the eligible live offers of ``call.space`` for one contact or visitor.

    Raises :class:`UnknownSpace` for a space that is not live and
    :class:`SpaceNotRealTime` for a real-time call to a batch-only space.
    """
    space = catalogue.spaces.get(call.space)
    if space is None:
        raise UnknownSpace(f"No live space “{call.space}”.")
    if call.real_time and not space.real_time:
        raise SpaceNotRealTime(f"Space “{call.space}” does not take real-time calls.")
    date = call.date or datetime.datetime.now(datetime.UTC)

    outcome, contact_history = _identify(catalogue, space, call, directory, date)
    if outcome.reason:
        return outcome
    return rank(catalogue, call, outcome, contact_history, history)


def rank(
    catalogue: Catalogue,
    call: Call,
    outcome: Outcome,
    contact_history: History | None,
    history: HistoryReader,
) -> Outcome:
    """Steps 3-7 for the contact or visitor ``outcome`` identified (at
    ``outcome.date``); ``contact_history``: its history if read already, as
    a batch run reads each contact's with its chunk."""
    space = outcome.space
    environment = catalogue.environments[space.environment_id]
    values = call_values(outcome.attributes, call.context)
    rules = typology.applicable_rules(environment, space, values, outcome.date.date())
    outcome.capping_rules = tuple(rule for rule in rules if rule.global_capping)
    outcome.counted_rules = tuple(
        rule
        for rule in environment.rules
        if rule.global_capping and (not rule.channel or rule.channel == space.channel)
    )
    outcome.limit = max(0, min(call.count, space.max_offers))
    ranker = _Ranker(catalogue, call, values, outcome, rules, contact_history, history)
    if call.explain:
        ranker.explained()
    else:
        depth = outcome.limit
        if outcome.capping_rules:
            # A batch run shares budgets across its population: a contact
            # refused one offer takes the next, however far down.
            depth = (
                depth * CAPPED_DEPTH
                if call.real_time
                else len(catalogue.offers_by_space.get(space.id, ()))
            )
        outcome.ranking = ranker.best(depth)
    outcome.proposals = choose(outcome.ranking, outcome.limit)
    return outcome


#: Without a trace, a call ranks only the offers it may show: ``limit`` of
#: them, or this many times ``limit`` when a global capping rule applies, for
#: the storage step to fall back on when an offer's budget ran out between
#: ranking and storing (another process took it): up to ``limit`` such offers
#: give their place to the next ones.
CAPPED_DEPTH = 2


class _Ranker:
    """Steps 3-7 of one call, once the contact is known."""

    def __init__(
        self,
        catalogue: Catalogue,
        call: Call,
        values: Mapping[str, Any],
        outcome: Outcome,
        rules: list[CompiledRule],
        contact_history: History | None,
        reader: HistoryReader,
    ) -> None:
        self.catalogue = catalogue
        self.environment = catalogue.environments[outcome.space.environment_id]
        self.call = call
        self.values = values
        self.outcome = outcome
        self.rules = rules
        self.contact_history = contact_history
        self.reader = reader
        #: Each offer's tie key, a function of (seed, contact, offer) only.
        self.tie = ties.tie_keys(
            call.seed, outcome.contact_key or outcome.visitor or ""
        )
        self._exclusions: typology.Exclusions | None = None

    def explained(self) -> None:
        """Every in-scope offer evaluated, the ranking whole and every decision
        traced (previews)."""
        outcome = self.outcome
        candidates, trace = self._eligible()
        exclusions = self.exclusions() if candidates else None
        shown = self.call.shown
        kept = []
        for offer, weight in candidates:
            if offer.code in shown:
                reason: str | None = shown_reason(shown[offer.code])
            else:
                reason = exclusions.reason(offer) if exclusions else None
            if reason:
                trace.append(Decision(offer.code, False, reason, weight))
            else:
                kept.append((offer, weight))
        tie = self.tie
        outcome.ranking = sorted(kept, key=lambda item: (-item[1], tie(item[0].id)))
        for index, (offer, weight) in enumerate(outcome.ranking):
            if index < outcome.limit:
                trace.append(Decision(offer.code, True, "proposed", weight, index + 1))
            else:
                reason = f"ranked beyond the {counted(outcome.limit, 'offer')} shown"
                trace.append(Decision(offer.code, False, reason, weight))
        outcome.trace = trace

    def best(self, depth: int) -> list[Ranked]:
        """The ``depth`` best offers, evaluating only those that may be among
        them (:mod:`.ranking`), or all of them when a value is out of the
        domains the bounds assume. The history is read for the first offer
        that would be ranked, if any."""
        if depth <= 0:
            return []
        space = self.outcome.space
        category_id, themes = _in_scope(self.environment, space, self.call)
        scope = None if category_id is None and not themes else (category_id, themes)
        index = ranking.space_index(self.catalogue, space, scope)
        if index is None:  # too many scopes asked for: the whole space's
            index = ranking.space_index(self.catalogue, space)
        else:
            scope = None
        assert index is not None
        excludes = self.excludes_shown if self.call.shown else self.excludes
        if index.sound(self.values):
            return ranking.best(
                index,
                self.values,
                self.outcome.date,
                space.id,
                depth,
                self.tie,
                scope,
                excludes,
            )
        candidates, _trace = self._eligible()
        try:
            kept = [item for item in candidates if not excludes(item[0])]
        except ranking.NothingLeft:
            return []
        # What a full ranking would put first (same seed, same order).
        tie = self.tie
        return heapq.nsmallest(
            depth, kept, key=lambda item: (-item[1], tie(item[0].id))
        )

    def _eligible(self) -> tuple[list[Ranked], list[Decision]]:
        space = self.outcome.space
        offers = self.catalogue.offers_by_space.get(space.id, ())
        return _eligible(
            self.environment, offers, space, self.call, self.values, self.outcome.date
        )

    def exclusions(self) -> typology.Exclusions:
        """Why typology rules exclude offers, read on first need."""
        if self._exclusions is None:
            self._exclusions = _exclusions(
                self.environment,
                self.outcome.space,
                self.outcome,
                self.rules,
                self.contact_history,
                self.reader,
                decisive=not self.call.explain,
            )
        return self._exclusions

    def excludes(self, offer: CompiledOffer) -> bool:
        """Whether a typology rule excludes ``offer``; raises
        :class:`ranking.NothingLeft` when one excludes every offer."""
        exclusions = self.exclusions()
        if not exclusions:
            return False
        if any(rule.offer_ids is None for _index, rule, _count in exclusions.every):
            raise ranking.NothingLeft
        return exclusions.reason(offer) is not None

    def excludes_shown(self, offer: CompiledOffer) -> bool:
        """:meth:`excludes`, and the offers the page shows already
        (``call.shown``; a call without them is spared the test)."""
        return offer.code in self.call.shown or self.excludes(offer)


def shown_reason(space: str) -> str:
    """Why an offer the page shows already is not proposed again."""
    if space:
        return f"already shown on this page in space “{space}”"
    return "already shown on this page"


def choose(
    ranking: Sequence[Ranked], limit: int, excluded: Collection[int] = ()
) -> list[Proposal]:
    """The first ``limit`` offers of ``ranking`` that are not ``excluded``, ranked
    from 1: an excluded offer's place goes to the next one."""
    proposals: list[Proposal] = []
    for offer, weight in ranking:
        if len(proposals) >= limit:
            break
        if offer.id not in excluded:
            proposals.append(Proposal(offer, len(proposals) + 1, weight))
    return proposals


def call_values(
    attributes: Mapping[str, Any], context: Mapping[str, Any]
) -> dict[str, Any]:
    """What conditions and formulas read: contact fields and ``context.<name>``."""
    values = dict(attributes)
    for name, value in context.items():
        values[f"context.{name}"] = value
    return values


def _identify(
    catalogue: Catalogue,
    space: CompiledSpace,
    call: Call,
    directory: ContactDirectory,
    date: datetime.datetime,
) -> tuple[Outcome, History | None]:
    """The outcome to fill, and the contact's history if the lookup read it."""
    environment = catalogue.environments[space.environment_id]
    if environment.anonymous:
        return Outcome(space, False, None, call.visitor, {}, date), None
    if call.contact:
        parts = str(call.contact).split(ID_SEPARATOR)
        if len(parts) == len(space.identification_fields):
            contact = directory.find(
                environment.id,
                space.identification_fields,
                parts,
                history_request(environment, space, date, decisive=not call.explain),
            )
            if contact is not None:
                outcome = Outcome(
                    space, True, contact.key, call.visitor, contact.attributes, date
                )
                return outcome, contact.history
    fallback = catalogue.spaces.get(space.fallback_space_code or "")
    if fallback is not None:
        return Outcome(fallback, False, None, call.visitor, {}, date), None
    reason = (
        f"Contact “{call.contact}” not found" if call.contact else "No contact"
    ) + " and the space has no fallback anonymous space."
    return Outcome(space, False, None, call.visitor, {}, date, reason=reason), None


def history_request(
    environment: EnvironmentCatalogue,
    space: CompiledSpace,
    date: datetime.datetime,
    decisive: bool = False,
) -> HistoryRequest:
    """All a call on ``space`` may need of the history, whoever the contact is:
    the tallies of every personal rule, the counters of every global cap of
    the space's channel. ``decisive``: for a call that traces no reasons
    (:func:`.typology.tallies`)."""
    rules = [
        rule
        for rule in environment.rules
        if not rule.channel or rule.channel == space.channel
    ]
    return HistoryRequest(
        date,
        typology.tallies(rules, space.channel, decisive),
        typology.cap_periods(rules, space.channel, date),
    )


def _exclusions(
    environment: EnvironmentCatalogue,
    space: CompiledSpace,
    outcome: Outcome,
    rules: list[CompiledRule],
    contact_history: History | None,
    reader: HistoryReader,
    decisive: bool = False,
) -> typology.Exclusions:
    """Why typology rules exclude offers (asked once there are candidates),
    reading the history unless the lookup brought it (``decisive``: see
    :func:`history_request`)."""
    exclusions = typology.Exclusions()
    if not rules:
        return exclusions
    request = history_request(environment, space, outcome.date, decisive)
    key = outcome.contact_key or outcome.visitor
    personal = any(not rule.global_capping for rule in rules)
    history = contact_history
    if history is None and ((personal and key) or outcome.capping_rules):
        history = reader.read(
            environment.id,
            key if personal else None,
            not outcome.identified,
            request,
        )
    if history is None:
        return exclusions
    if personal and key:
        typology.personal_exclusions(rules, history.reached, exclusions)
    return typology.capping_exclusions(rules, history.exhausted, exclusions)


def _in_scope(
    environment: EnvironmentCatalogue, space: CompiledSpace, call: Call
) -> tuple[int | None, frozenset[str]]:
    category_id = None
    if call.category:
        category_id = environment.categories_by_code.get(call.category, -1)
    themes = frozenset(theme.lower() for theme in call.themes)
    if category_id is None and not themes:
        category_id = space.default_category_id
        themes = frozenset(space.default_themes)
    return category_id, themes


def _eligible(
    environment: EnvironmentCatalogue,
    offers: tuple[CompiledOffer, ...],
    space: CompiledSpace,
    call: Call,
    values: Mapping[str, Any],
    date: datetime.datetime,
) -> tuple[list[Ranked], list[Decision]]:
    category_id, themes = _in_scope(environment, space, call)
    everything = category_id is None and not themes
    today = date.date()
    space_id = space.id
    candidates: list[Ranked] = []
    trace: list[Decision] = []
    explain = call.explain
    for offer in offers:
        if not (
            everything
            or offer.always_include
            or (category_id is not None and category_id in offer.category_ids)
            or (themes and not themes.isdisjoint(offer.themes))
        ):
            continue
        weight = offer.terms.evaluate(values, today, date, space_id)
        if isinstance(weight, str):
            if explain:
                trace.append(Decision(offer.code, False, weight))
        elif weight > 0:
            candidates.append((offer, weight))
        elif explain:
            trace.append(Decision(offer.code, False, f"weight {weight:g} ≤ 0", weight))
    return candidates, trace
