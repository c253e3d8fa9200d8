"""The offer engine's steps 1-7 of SPEC §5, for one call."""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping
from typing import Any

from .call import (
    Call,
    ContactLookup,
    Decision,
    HistoryReader,
    Outcome,
    Proposal,
    SpaceNotUnitary,
    UnknownSpace,
)
from .catalogue import Catalogue, CompiledOffer, CompiledSpace, EnvironmentCatalogue
from .typology import excluded_offers

ID_SEPARATOR = "|"


def propose(
    catalogue: Catalogue,
    call: Call,
    lookup_contact: ContactLookup,
    history: HistoryReader,
) -> Outcome:
    """Rank the eligible live offers of ``call.space`` for one contact or visitor.

    Raises :class:`UnknownSpace` for a space that is not live and
    :class:`SpaceNotUnitary` for an inbound call to a batch-only space.
    """
    space = catalogue.spaces.get(call.space)
    if space is None:
        raise UnknownSpace(f"No live space “{call.space}”.")
    if call.inbound and not space.unitary:
        raise SpaceNotUnitary(f"Space “{call.space}” does not take real-time calls.")
    date = call.date or datetime.datetime.now(datetime.UTC)

    outcome = _identify(catalogue, space, call, lookup_contact, date)
    if outcome.reason:
        return outcome
    space = outcome.space
    environment = catalogue.environments[space.environment_id]

    values = call_values(outcome.attributes, call.context)
    offers = catalogue.offers_by_space.get(space.id, ())
    candidates, trace = _eligible(environment, offers, space, call, values, date)
    excluded = excluded_offers(
        environment, space, candidates, outcome, values, date, history
    )
    kept = []
    for offer, weight in candidates:
        if offer.id in excluded:
            if call.explain:
                trace.append(Decision(offer.code, False, excluded[offer.id], weight))
        else:
            kept.append((offer, weight))

    # Candidates come in offer id order, so a seed gives the same tie order.
    rng = random.Random(call.seed)
    ranked = sorted(kept, key=lambda item: (-item[1], rng.random()))
    limit = max(0, min(call.count, space.max_offers))
    for index, (offer, weight) in enumerate(ranked[:limit]):
        outcome.proposals.append(Proposal(offer, index + 1, weight))
    if call.explain:
        for index, (offer, weight) in enumerate(ranked):
            if index < limit:
                trace.append(Decision(offer.code, True, "proposed", weight, index + 1))
            else:
                reason = f"ranked beyond the {limit} offer(s) shown"
                trace.append(Decision(offer.code, False, reason, weight))
        outcome.trace = trace
    return outcome


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
    lookup_contact: ContactLookup,
    date: datetime.datetime,
) -> Outcome:
    environment = catalogue.environments[space.environment_id]
    if environment.anonymous:
        return Outcome(space, False, None, call.visitor_id, {}, date)
    if call.contact_id:
        parts = str(call.contact_id).split(ID_SEPARATOR)
        if len(parts) == len(space.identification_fields):
            found = lookup_contact(environment.id, space.identification_fields, parts)
            if found is not None:
                key, attributes = found
                return Outcome(space, True, key, call.visitor_id, attributes, date)
    fallback = catalogue.spaces.get(space.fallback_space_code or "")
    if fallback is not None:
        return Outcome(fallback, False, None, call.visitor_id, {}, date)
    reason = (
        f"Contact “{call.contact_id}” not found" if call.contact_id else "No contact"
    ) + " and the space has no fallback anonymous space."
    return Outcome(space, False, None, call.visitor_id, {}, date, reason=reason)


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
) -> tuple[list[tuple[CompiledOffer, float]], list[Decision]]:
    category_id, themes = _in_scope(environment, space, call)
    everything = category_id is None and not themes
    today = date.date()
    space_id = space.id
    candidates, trace = [], []
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
        if weight.__class__ is str:
            if explain:
                trace.append(Decision(offer.code, False, weight))
        elif weight > 0:
            candidates.append((offer, weight))
        elif explain:
            trace.append(Decision(offer.code, False, f"weight {weight:g} ≤ 0", weight))
    return candidates, trace
