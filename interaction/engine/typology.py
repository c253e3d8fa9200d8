"""Step 6 of SPEC §5: typology rules over the proposition history.

A rule over the contact's own history decides in :func:`rule_excludes`, from
counts the reader made in the database (:class:`~.call.HistoryCount`). A global
capping rule is a counter per offer and period, taken when propositions are
stored (by one conditional statement, so concurrent calls never exceed it);
the ranking reads which counters are used up (:func:`capping_exclusions`).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from .call import CapPeriod, HistoryCount, HistoryRow
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


def personal_periods(rules: Iterable[CompiledRule]) -> tuple[datetime.timedelta, ...]:
    """The distinct periods of rules over a contact's own history, shortest first:
    the windows its history is counted in."""
    return tuple(sorted({rule.period for rule in rules if not rule.global_capping}))


def aggregate(
    rows: Iterable[HistoryRow],
    date: datetime.datetime,
    periods: Sequence[datetime.timedelta],
) -> list[HistoryCount]:
    """``rows`` counted as a reader counts them for a call at ``date``: per
    offer, category, channel, status and narrowest window (rows outside every
    window left out). For readers that keep rows in memory."""
    counts: Counter[tuple[int | None, int | None, str, str, int]] = Counter()
    for row in rows:
        distance = abs(row.event_date - date)
        for window, period in enumerate(periods):
            if distance <= period:
                counts[
                    (row.offer_id, row.category_id, row.channel, row.status, window)
                ] += 1
                break
    return [HistoryCount(*key, count) for key, count in counts.items()]


#: Global capping periods follow each other from this instant (UTC): a daily
#: budget starts again at midnight UTC, an hourly one on the hour.
PERIODS_ORIGIN = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def period_start(
    period: datetime.timedelta, date: datetime.datetime
) -> datetime.datetime:
    """When the global capping period of length ``period`` holding ``date`` began."""
    return PERIODS_ORIGIN + (date - PERIODS_ORIGIN) // period * period


def cap_periods(
    rules: Iterable[CompiledRule], channel: str, date: datetime.datetime
) -> tuple[CapPeriod, ...]:
    """The counters of the global capping ``rules`` a call on ``channel`` at
    ``date`` reads and takes."""
    return tuple(
        CapPeriod(
            rule.id,
            channel if rule.same_channel_only else "",
            period_start(rule.period, date),
            rule.quantity,
        )
        for rule in rules
        if rule.global_capping
    )


def takes_cap(rule: CompiledRule, status: str) -> bool:
    """Whether storing a proposition with ``status`` counts against the cap."""
    return rule.counted_statuses is None or status in rule.counted_statuses


#: (the rule's index in the call's rules, the rule, why it excludes)
Entry = tuple[int, CompiledRule, str]


class Exclusions:
    """Why typology rules exclude offers, decided from the counts once per call
    and then asked offer by offer (the first rule in the rules' order wins)."""

    def __init__(self) -> None:
        #: offer id / category id -> (rule index, rule, reason)
        self.offers: dict[int, Entry] = {}
        self.categories: dict[int, Entry] = {}
        #: Rules excluding every offer they apply to.
        self.every: list[Entry] = []

    def __bool__(self) -> bool:
        return bool(self.offers or self.categories or self.every)

    @staticmethod
    def keep(table: dict[int, Entry], key: int, entry: Entry) -> None:
        if key not in table or entry[0] < table[key][0]:
            table[key] = entry

    def reason(self, offer: CompiledOffer) -> str | None:
        """Why a rule excludes ``offer``, or ``None``."""
        found: Entry | None = None
        for entry in (
            self.offers.get(offer.id),
            self.categories.get(offer.category_id),
            *self.every,
        ):
            if (
                entry is not None
                and (found is None or entry[0] < found[0])
                and applies_to(entry[1], offer.id)
            ):
                found = entry
        return found[2] if found else None


def personal_exclusions(
    rules: Sequence[CompiledRule],
    space: CompiledSpace,
    counts: Iterable[HistoryCount],
    periods: Sequence[datetime.timedelta],
    exclusions: Exclusions | None = None,
) -> Exclusions:
    """What the rules over the contact's own history (``counts``, in the
    windows of ``periods``) exclude: one pass over the counts per rule."""
    exclusions = Exclusions() if exclusions is None else exclusions
    counts = list(counts)
    for index, rule in enumerate(rules):
        if rule.global_capping:
            continue
        widest = periods.index(rule.period)
        per_key: Counter[int | None] = Counter()
        total = 0
        for row in counts:
            if not (
                row.window <= widest
                and (not rule.same_channel_only or row.channel == space.channel)
                and (
                    rule.counted_statuses is None or row.status in rule.counted_statuses
                )
            ):
                continue
            if rule.counted_offers == COUNT_OFFER:
                per_key[row.offer_id] += row.propositions
            elif rule.counted_offers == COUNT_CATEGORY:
                per_key[row.category_id] += row.propositions
            elif rule.counted_offers == COUNT_ALL or applies_to(rule, row.offer_id):
                total += row.propositions
        if rule.counted_offers in (COUNT_OFFER, COUNT_CATEGORY):
            table = (
                exclusions.offers
                if rule.counted_offers == COUNT_OFFER
                else exclusions.categories
            )
            for key, count in per_key.items():
                reason = rule_excludes(rule, count)
                if reason and key is not None:
                    exclusions.keep(table, key, (index, rule, reason))
        else:
            reason = rule_excludes(rule, total)
            if reason:
                exclusions.every.append((index, rule, reason))
    return exclusions


def capping_exclusions(
    rules: Sequence[CompiledRule],
    exhausted: Collection[tuple[int, int]],
    exclusions: Exclusions | None = None,
) -> Exclusions:
    """What the global capping ``rules`` exclude: the offers whose counter is
    used up in the current period (``exhausted``: (rule id, offer id))."""
    exclusions = Exclusions() if exclusions is None else exclusions
    positions = {rule.id: (index, rule) for index, rule in enumerate(rules)}
    for rule_id, offer_id in sorted(exhausted):
        if rule_id not in positions:
            continue
        index, rule = positions[rule_id]
        if rule.global_capping and applies_to(rule, offer_id):
            reason = capped_reason(rule)
            exclusions.keep(exclusions.offers, offer_id, (index, rule, reason))
    return exclusions


def capped_reason(rule: CompiledRule) -> str:
    return (
        f"global capping rule “{rule.code}”: the {rule.quantity} proposition(s) "
        "allowed in the period are used up"
    )
