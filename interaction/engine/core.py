"""The offer engine's steps 1-7 of SPEC §5, for one call."""

from __future__ import annotations

import datetime
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from . import typology
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
    space = outcome.space
    environment = catalogue.environments[space.environment_id]

    values = call_values(outcome.attributes, call.context)
    offers = catalogue.offers_by_space.get(space.id, ())
    candidates, trace = _eligible(environment, offers, space, call, values, date)
    rules = typology.applicable_rules(environment, space, values, date.date())
    outcome.capping_rules = tuple(rule for rule in rules if rule.global_capping)
    exclusions = _exclusions(
        environment, space, candidates, outcome, rules, contact_history, history
    )
    kept = []
    for offer, weight in candidates:
        reason = exclusions.reason(offer) if exclusions else None
        if reason:
            if call.explain:
                trace.append(Decision(offer.code, False, reason, weight))
        else:
            kept.append((offer, weight))

    # Candidates come in offer id order, so a seed gives the same tie order.
    rng = random.Random(call.seed)
    outcome.ranking = sorted(kept, key=lambda item: (-item[1], rng.random()))
    outcome.limit = max(0, min(call.count, space.max_offers))
    outcome.proposals = choose(outcome.ranking, outcome.limit)
    if call.explain:
        for index, (offer, weight) in enumerate(outcome.ranking):
            if index < outcome.limit:
                trace.append(Decision(offer.code, True, "proposed", weight, index + 1))
            else:
                reason = f"ranked beyond the {outcome.limit} offer(s) shown"
                trace.append(Decision(offer.code, False, reason, weight))
        outcome.trace = trace
    return outcome


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
                history_request(environment, space, date),
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
    environment: EnvironmentCatalogue, space: CompiledSpace, date: datetime.datetime
) -> HistoryRequest:
    """All a call on ``space`` may need of the history, whoever the contact is:
    the windows of every personal rule, the counters of every global cap of
    the space's channel."""
    rules = [
        rule
        for rule in environment.rules
        if not rule.channel or rule.channel == space.channel
    ]
    return HistoryRequest(
        date,
        typology.personal_periods(rules),
        typology.cap_periods(rules, space.channel, date),
    )


def _exclusions(
    environment: EnvironmentCatalogue,
    space: CompiledSpace,
    candidates: list[Ranked],
    outcome: Outcome,
    rules: list[CompiledRule],
    contact_history: History | None,
    reader: HistoryReader,
) -> typology.Exclusions:
    """Why typology rules exclude offers, reading the history at most once (not
    at all when the lookup brought it)."""
    exclusions = typology.Exclusions()
    if not candidates or not rules:
        return exclusions
    request = history_request(environment, space, outcome.date)
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
        typology.personal_exclusions(
            rules, space, history.counts, request.periods, exclusions
        )
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
