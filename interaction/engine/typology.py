"""Step 6 of SPEC §5: typology rules over the proposition history."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .call import HistoryReader, HistoryRow, Outcome
from .catalogue import CompiledOffer, CompiledRule, CompiledSpace, EnvironmentCatalogue

ALL, SAME_OFFER, SAME_CATEGORY, RULE_OFFERS = "all", "offer", "category", "rule"


def applicable_rules(
    environment: EnvironmentCatalogue,
    space: CompiledSpace,
    values: Mapping[str, Any],
    today: datetime.date,
) -> list[CompiledRule]:
    return [
        rule
        for rule in environment.rules
        if (not rule.channel or rule.channel == space.channel)
        and (rule.applies_to_contact is None or rule.applies_to_contact(values, today))
    ]


def excluded_offers(
    environment: EnvironmentCatalogue,
    space: CompiledSpace,
    candidates: Sequence[tuple[CompiledOffer, float]],
    outcome: Outcome,
    values: Mapping[str, Any],
    date: datetime.datetime,
    history: HistoryReader,
) -> dict[int, str]:
    """Offer id -> why a rule excludes it, reading the contact's history once."""
    if not candidates:
        return {}
    rules = applicable_rules(environment, space, values, date.date())
    excluded: dict[int, str] = {}
    personal = [rule for rule in rules if not rule.global_capping]
    contact_key = outcome.contact_key or outcome.visitor_id
    if personal and contact_key:
        longest = max(rule.period for rule in personal)
        rows = history.contact_history(
            environment.id,
            contact_key,
            not outcome.identified,
            date - longest,
            date + longest,
        )
        for rule in personal:
            _apply_personal_rule(rule, space, candidates, rows, date, excluded)
    for rule in rules:
        if rule.global_capping:
            _apply_capping_rule(rule, space, candidates, date, history, excluded)
    return excluded


def _counted(
    rule: CompiledRule,
    space: CompiledSpace,
    rows: Sequence[HistoryRow],
    date: datetime.datetime,
) -> list[HistoryRow]:
    since, until = date - rule.period, date + rule.period
    return [
        row
        for row in rows
        if since <= row.event_date <= until
        and (not rule.same_channel_only or row.channel == space.channel)
        and (rule.counted_statuses is None or row.status in rule.counted_statuses)
    ]


def _apply_personal_rule(rule, space, candidates, rows, date, excluded) -> None:
    counted = _counted(rule, space, rows, date)
    if rule.counted_offers == ALL:
        counts = None
    elif rule.counted_offers == SAME_CATEGORY:
        counts = Counter(row.category_id for row in counted)
    elif rule.counted_offers == RULE_OFFERS:
        counts = None
        shared = (
            len(counted)
            if rule.offer_ids is None
            else sum(1 for row in counted if row.offer_id in rule.offer_ids)
        )
    else:
        counts = Counter(row.offer_id for row in counted)
    for offer, _weight in candidates:
        if offer.id in excluded:
            continue
        if rule.offer_ids is not None and offer.id not in rule.offer_ids:
            continue
        if rule.counted_offers == ALL:
            count = len(counted)
        elif rule.counted_offers == SAME_CATEGORY:
            count = counts[offer.category_id]
        elif rule.counted_offers == RULE_OFFERS:
            count = shared
        else:
            count = counts[offer.id]
        if count >= rule.quantity:
            excluded[offer.id] = (
                f"typology rule “{rule.code}”: {count} proposition(s) counted in "
                f"the period, {rule.quantity} allowed"
            )


def _apply_capping_rule(rule, space, candidates, date, history, excluded) -> None:
    offer_ids = [
        offer.id
        for offer, _weight in candidates
        if offer.id not in excluded
        and (rule.offer_ids is None or offer.id in rule.offer_ids)
    ]
    if not offer_ids:
        return
    counts = history.offer_counts(
        offer_ids,
        date - rule.period,
        date + rule.period,
        space.channel if rule.same_channel_only else None,
        rule.counted_statuses,
    )
    for offer_id in offer_ids:
        count = counts.get(offer_id, 0)
        if count >= rule.quantity:
            excluded[offer_id] = (
                f"global capping rule “{rule.code}”: {count} proposition(s) in the "
                f"period, {rule.quantity} allowed"
            )
