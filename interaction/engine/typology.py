"""Step 6 of SPEC §5: typology rules over the proposition history.

:func:`rule_excludes` is the one place a rule decides, given a count; the
ranking (counts read before choosing) and the storage step (global caps
counted again under a lock) both reach it through the functions below.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from .call import HistoryReader, HistoryRow, Period
from .catalogue import CompiledOffer, CompiledRule, CompiledSpace, EnvironmentCatalogue

#: What a rule counts ("offers counted").
COUNT_ALL = "all"
COUNT_OFFER = "offer"
COUNT_CATEGORY = "category"
COUNT_RULE_OFFERS = "rule"


def rule_excludes(rule: CompiledRule, count: int) -> str | None:
    """Why ``rule`` excludes an offer once ``count`` propositions are counted,
    or ``None`` when the count is still under the rule's quantity."""
    if count < rule.quantity:
        return None
    if rule.global_capping:
        return (
            f"global capping rule “{rule.code}”: {count} proposition(s) in the "
            f"period, {rule.quantity} allowed"
        )
    return (
        f"typology rule “{rule.code}”: {count} proposition(s) counted in the "
        f"period, {rule.quantity} allowed"
    )


def applicable_rules(
    environment: EnvironmentCatalogue,
    space: CompiledSpace,
    values: Mapping[str, Any],
    today: datetime.date,
) -> list[CompiledRule]:
    """The environment's rules for a call on ``space`` for a contact with ``values``."""
    return [
        rule
        for rule in environment.rules
        if (not rule.channel or rule.channel == space.channel)
        and (rule.applies_to_contact is None or rule.applies_to_contact(values, today))
    ]


def applies_to(rule: CompiledRule, offer_id: int | None) -> bool:
    # ``None``: a history row whose offer was deleted since.
    return rule.offer_ids is None or offer_id in rule.offer_ids


def period_of(rule: CompiledRule, date: datetime.datetime) -> Period:
    """The history a rule counts for a call at ``date``: date ± the rule's period."""
    return date - rule.period, date + rule.period


def personal_exclusions(
    rules: Iterable[CompiledRule],
    space: CompiledSpace,
    offers: Sequence[CompiledOffer],
    rows: Sequence[HistoryRow],
    date: datetime.datetime,
) -> dict[int, str]:
    """Offer id -> why a rule over the contact's own history ``rows`` excludes it."""
    excluded: dict[int, str] = {}
    for rule in rules:
        since, until = period_of(rule, date)
        counted = [
            row
            for row in rows
            if since <= row.event_date <= until
            and (not rule.same_channel_only or row.channel == space.channel)
            and (rule.counted_statuses is None or row.status in rule.counted_statuses)
        ]
        if rule.counted_offers == COUNT_CATEGORY:
            per_category = Counter(row.category_id for row in counted)
        elif rule.counted_offers == COUNT_OFFER:
            per_offer = Counter(row.offer_id for row in counted)
        elif rule.counted_offers == COUNT_RULE_OFFERS:
            shared = sum(1 for row in counted if applies_to(rule, row.offer_id))
        for offer in offers:
            if offer.id in excluded or not applies_to(rule, offer.id):
                continue
            if rule.counted_offers == COUNT_ALL:
                count = len(counted)
            elif rule.counted_offers == COUNT_CATEGORY:
                count = per_category[offer.category_id]
            elif rule.counted_offers == COUNT_RULE_OFFERS:
                count = shared
            else:
                count = per_offer[offer.id]
            reason = rule_excludes(rule, count)
            if reason:
                excluded[offer.id] = reason
    return excluded


def capping_exclusions(
    rules: Iterable[CompiledRule],
    space: CompiledSpace,
    offer_ids: Collection[int],
    date: datetime.datetime,
    history: HistoryReader,
) -> dict[int, str]:
    """Offer id -> why a global capping rule excludes it: every contact's
    propositions of the offer, counted by ``history`` (one query per rule)."""
    excluded: dict[int, str] = {}
    for rule in rules:
        capped = [
            offer_id
            for offer_id in offer_ids
            if offer_id not in excluded and applies_to(rule, offer_id)
        ]
        if not capped:
            continue
        counts = history.offer_counts(
            capped,
            period_of(rule, date),
            space.channel if rule.same_channel_only else None,
            rule.counted_statuses,
        )
        for offer_id in capped:
            reason = rule_excludes(rule, counts.get(offer_id, 0))
            if reason:
                excluded[offer_id] = reason
    return excluded
