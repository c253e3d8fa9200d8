"""Step 6 of SPEC §5: typology rules over the proposition history.

A rule over the contact's own history excludes once a count reaches its
quantity, from
counts the reader made in the database (:class:`~.call.Tally`). A global
capping rule is a counter per offer and period, taken when propositions are
stored (by one conditional statement, so concurrent calls never exceed it);
the ranking reads which counters are used up (:func:`capping_exclusions`).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from .call import PER_ALL, PER_CATEGORY, PER_OFFER, CapPeriod, HistoryRow, Tally
from .catalogue import CompiledOffer, CompiledRule, CompiledSpace, EnvironmentCatalogue
from .wording import counted

#: What a rule counts ("offers counted").
COUNT_ALL = "all"
COUNT_OFFER = "offer"
COUNT_CATEGORY = "category"
COUNT_RULE_OFFERS = "rule"


def reason(rule: CompiledRule, count: int | None) -> str:
    """Why ``rule`` excludes an offer: ``count`` propositions counted (a
    personal rule's, at least its quantity), or its budget used up (a global
    capping rule's, ``count`` None). Written only when asked (previews)."""
    if count is None:
        verb = "is" if rule.quantity == 1 else "are"
        return (
            f"global capping rule “{rule.code}”: the "
            f"{counted(rule.quantity, 'proposition')} allowed in the period "
            f"{verb} used up"
        )
    return (
        f"typology rule “{rule.code}”: {counted(count, 'proposition')} counted "
        f"in the period, {rule.quantity} allowed"
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


def tallies(
    rules: Iterable[CompiledRule], channel: str, decisive: bool = False
) -> tuple[Tally, ...]:
    """What the personal ``rules`` of a call on ``channel`` need counted of
    the contact's history, one tally per rule.

    A rule over some offers only counts each offer's propositions (at least
    one) and sums its own offers' (:func:`personal_exclusions`).

    ``decisive`` (a call that traces no reasons): the tally of a rule over
    every proposition, for every offer and every contact, is marked
    :attr:`~.call.Tally.decisive`: once it reaches the rule's quantity the
    call proposes nothing, whatever the other counts are.
    """
    found = []
    for rule in rules:
        if rule.global_capping:
            continue
        per, at_least = {
            COUNT_OFFER: (PER_OFFER, rule.quantity),
            COUNT_CATEGORY: (PER_CATEGORY, rule.quantity),
        }.get(rule.counted_offers, (PER_ALL, rule.quantity))
        if rule.counted_offers == COUNT_RULE_OFFERS and rule.offer_ids is not None:
            per, at_least = PER_OFFER, 1
        found.append(
            Tally(
                rule.id,
                rule.period,
                per,
                channel if rule.same_channel_only else "",
                rule.counted_statuses,
                at_least,
                decisive
                and per == PER_ALL
                and rule.offer_ids is None
                and rule.applies_to_contact is None,
            )
        )
    return tuple(found)


def count_rows(
    rows: Iterable[HistoryRow], date: datetime.datetime, tallies: Sequence[Tally]
) -> dict[tuple[int, int | None], int]:
    """``rows`` counted as a reader counts them for a call at ``date``
    (:attr:`History.reached`; a count of nothing is never there, even when it
    reaches an ``at_least`` of 0). For readers that keep rows in memory."""
    rows = list(rows)
    reached: dict[tuple[int, int | None], int] = {}
    for tally in tallies:
        counts: Counter[int | None] = Counter()
        for row in rows:
            if (
                abs(row.event_date - date) <= tally.period
                and (not tally.channel or row.channel == tally.channel)
                and (tally.statuses is None or row.status in tally.statuses)
            ):
                counts[
                    row.offer_id
                    if tally.per == PER_OFFER
                    else row.category_id
                    if tally.per == PER_CATEGORY
                    else None
                ] += 1
        for key, count in counts.items():
            if count >= tally.at_least:
                reached[(tally.rule_id, key)] = count
    return reached


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


#: (the rule's index in the call's rules, the rule, the count that reached its
#: quantity or None for a used-up cap: see :func:`reason`)
Entry = tuple[int, CompiledRule, int | None]


class Exclusions:
    """Why typology rules exclude offers, decided from the counts once per call
    and then asked offer by offer (the first rule in the rules' order wins)."""

    def __init__(self) -> None:
        #: offer id / category id -> (rule index, rule, count)
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
        return reason(found[1], found[2]) if found else None


def personal_exclusions(
    rules: Sequence[CompiledRule],
    reached: Mapping[tuple[int, int | None], int],
    exclusions: Exclusions | None = None,
) -> Exclusions:
    """What the rules over the contact's own history exclude, from the counts
    that reached their tallies (:func:`tallies`): one pass over them."""
    exclusions = Exclusions() if exclusions is None else exclusions
    by_rule: dict[int, list[tuple[int | None, int]]] = {}
    for (rule_id, key), count in reached.items():
        by_rule.setdefault(rule_id, []).append((key, count))
    for index, rule in enumerate(rules):
        if rule.global_capping:
            continue
        counts = by_rule.get(rule.id, [])
        if rule.counted_offers in (COUNT_OFFER, COUNT_CATEGORY):
            table = (
                exclusions.offers
                if rule.counted_offers == COUNT_OFFER
                else exclusions.categories
            )
            for key, count in counts:
                if count >= rule.quantity and key is not None:
                    exclusions.keep(table, key, (index, rule, count))
            continue
        if rule.counted_offers == COUNT_RULE_OFFERS and rule.offer_ids is not None:
            total = sum(count for key, count in counts if key in rule.offer_ids)
        else:
            total = sum(count for _key, count in counts)
        if total >= rule.quantity:
            exclusions.every.append((index, rule, total))
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
            exclusions.keep(exclusions.offers, offer_id, (index, rule, None))
    return exclusions
