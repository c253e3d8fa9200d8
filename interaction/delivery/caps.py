"""Global capping counters (:class:`~interaction.models.CapUsage`).

A global capping rule allows each offer ``quantity`` propositions per period;
periods follow each other from midnight UTC, 1 January 1970
(:func:`interaction.engine.typology.period_start`): a daily budget starts
again at midnight UTC. Storing takes the counters of the offers it stores with
one conditional upsert (:func:`take`: ``used + 1 <= cap``, decided by the
database row by row, so concurrent calls never exceed a budget); the ranking
reads the used-up counters with the contact (:mod:`.readers`). Nothing counts
the proposition table on a call.

Counters start from the proposition table when a global rule is saved
(:func:`reset`), so a budget created or changed mid-period counts what was
already proposed in it. A rule counting only some statuses (e.g. accepted) is
counted when a proposition reaches or leaves them (:func:`move`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from ..engine import statuses, typology
from ..engine.call import CapPeriod
from ..engine.catalogue import CompiledRule
from ..models import CapUsage, Proposition, TypologyRule

#: (rule id, offer id)
Taken = tuple[int, int]

_COLUMNS = ("rule_id", "offer_id", "channel", "period_start", "used", "cap")


def _upsert(rows: Sequence[tuple], condition: str) -> list[Taken]:
    """Add each row's ``used`` to its counter (created if missing) where
    ``condition`` holds; the (rule id, offer id) of the counters changed."""
    sql, params = _upsert_statement(rows, condition)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(rule_id, offer_id) for rule_id, offer_id in cursor.fetchall()]


def _upsert_statement(rows: Sequence[tuple], condition: str) -> tuple[str, list]:
    field = CapUsage._meta.get_field("period_start")
    params: list = []
    for rule_id, offer_id, channel, start, used, cap in rows:
        start = field.get_db_prep_value(start, connection)
        params += [rule_id, offer_id, channel, start, used, cap]
    return _upsert_sql(connection.vendor, len(rows), condition), params


@functools.cache
def _upsert_sql(vendor: str, rows: int, condition: str) -> str:
    """The upsert of ``rows`` counters where ``condition`` holds (built once
    per shape: a call takes a few counters, on every call under a cap)."""
    table = connection.ops.quote_name(CapUsage._meta.db_table)
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {placeholders} "
        "ON CONFLICT (rule_id, period_start, channel, offer_id) DO UPDATE SET "
        f"used = {table}.used + excluded.used, cap = excluded.cap "
        f"WHERE {condition} RETURNING rule_id, offer_id"
    )


#: The cap of a counter counted for a contact its rule does not apply to.
UNCAPPED = 2**31 - 1


def uncapped(cap: CapPeriod) -> CapPeriod:
    """``cap``'s counter, counted without a limit (see :data:`UNCAPPED`)."""
    return dataclasses.replace(cap, quantity=UNCAPPED)


def take(wanted: Iterable[tuple[CapPeriod, int]]) -> set[Taken]:
    """Take one proposition of each (counter, offer id) still under its cap, in
    one statement; the (rule id, offer id) taken."""
    rows = _take_rows(wanted)
    if not rows:
        return set()
    return set(_upsert(rows, _under_cap()))


def take_statement(wanted: Iterable[tuple[CapPeriod, int]]) -> tuple[str, list]:
    """:func:`take` as SQL and parameters (``… RETURNING rule_id, offer_id``),
    for a statement that stores what it takes at once (PostgreSQL's
    data-modifying ``WITH``)."""
    return _upsert_statement(_take_rows(wanted), _under_cap())


def _take_rows(wanted: Iterable[tuple[CapPeriod, int]]) -> list[tuple]:
    # In key order, the order :func:`lock` takes counters in (no deadlock).
    return sorted(
        (cap.rule_id, offer_id, cap.channel, cap.start, 1, cap.quantity)
        for cap, offer_id in wanted
    )


def _under_cap() -> str:
    table = connection.ops.quote_name(CapUsage._meta.db_table)
    return f"{table}.used + excluded.used <= excluded.cap"


def lock(counters: Iterable[tuple[CapPeriod, int]]) -> dict[Taken, int]:
    """Lock the counters of (counter, offer id) until the transaction ends
    (created at 0 if missing), in key order as :func:`take` takes them: how
    many each has used. For a batch chunk, which grants them set-based and
    then :func:`add`s what it took in the same transaction."""
    keys = _keys(counters)
    if not keys:
        return {}
    _upsert(
        [
            (rule, offer, channel, start, 0, cap.quantity)
            for (rule, offer, channel, start), cap in keys
        ],
        "1 = 0",
    )
    return _used(CapUsage.objects.select_for_update(), keys)


def read(counters: Iterable[tuple[CapPeriod, int]]) -> dict[Taken, int]:
    """How many each counter of (counter, offer id) has used, read without
    locking or creating any (a missing one has used nothing): a simulation's
    view of the budgets, which it never takes."""
    keys = _keys(counters)
    return _used(CapUsage.objects.all(), keys) if keys else {}


def _keys(
    counters: Iterable[tuple[CapPeriod, int]],
) -> list[tuple[tuple[int, int, str, datetime.datetime], CapPeriod]]:
    return sorted(
        {
            (cap.rule_id, offer_id, cap.channel, cap.start): cap
            for cap, offer_id in counters
        }.items()
    )


def _used(rows, keys) -> dict[Taken, int]:
    used = (
        rows.filter(
            functools.reduce(
                operator.or_,
                (
                    Q(rule_id=rule, offer_id=offer, channel=channel, period_start=start)
                    for (rule, offer, channel, start), _cap in keys
                ),
            )
        )
        .order_by("rule_id", "offer_id", "channel", "period_start")
        .values_list("rule_id", "offer_id", "used")
    )
    return {(rule_id, offer_id): count for rule_id, offer_id, count in used}


def add(used: Mapping[tuple[CapPeriod, int], int]) -> None:
    """Add ``used[(counter, offer id)]`` to each counter (locked by :func:`lock`),
    or take it back when negative (never below 0): one statement."""
    changes = {key: count for key, count in used.items() if count}
    if not changes:
        return
    matches = [
        Q(
            rule_id=cap.rule_id,
            offer_id=offer_id,
            channel=cap.channel,
            period_start=cap.start,
        )
        for cap, offer_id in changes
    ]
    change = Case(
        *(
            When(condition, then=Value(count))
            for condition, count in zip(matches, changes.values(), strict=True)
        ),
        default=Value(0),
    )
    CapUsage.objects.filter(functools.reduce(operator.or_, matches)).update(
        used=Greatest(F("used") + change, Value(0))
    )


def counted(
    rules: Iterable[CompiledRule],
    groups: Iterable[tuple[int | None, str, str, datetime.datetime, int]],
) -> Counter[tuple[CapPeriod, int]]:
    """What propositions hold of the global ``rules``' counters, given as
    groups of (offer id, channel, status, event date, how many): e.g. to
    give back what a campaign run's deleted propositions took (:func:`add`
    with the counts negated)."""
    held: Counter[tuple[CapPeriod, int]] = Counter()
    for rule in rules:
        if not rule.global_capping:
            continue
        for offer_id, channel, status, date, count in groups:
            if (
                offer_id is None
                or (rule.channel and rule.channel != channel)
                or not typology.applies_to(rule, offer_id)
                or not typology.takes_cap(rule, status)
            ):
                continue
            cap = CapPeriod(
                rule.id,
                channel if rule.same_channel_only else "",
                typology.period_start(rule.period, date),
                rule.quantity,
            )
            held[(cap, offer_id)] += count
    return held


def give_back(taken: Iterable[tuple[CapPeriod, int]]) -> None:
    """Return what :func:`take` took for propositions that were not stored."""
    add({key: -count for key, count in Counter(taken).items()})


def move(
    rules: Iterable[CompiledRule], proposition: Proposition, old: str, new: str
) -> None:
    """Count a proposition's move from status ``old`` to ``new`` in the
    counters of the global ``rules`` that count only some statuses."""
    for rule in rules:
        if rule.counted_statuses is None or not typology.applies_to(
            rule, proposition.offer_id
        ):
            continue
        change = (new in rule.counted_statuses) - (old in rule.counted_statuses)
        if not change or proposition.offer_id is None:
            continue
        cap = CapPeriod(
            rule.id,
            proposition.channel if rule.same_channel_only else "",
            typology.period_start(rule.period, proposition.event_date),
            rule.quantity,
        )
        if change > 0:
            _upsert(
                [
                    (
                        cap.rule_id,
                        proposition.offer_id,
                        cap.channel,
                        cap.start,
                        1,
                        cap.quantity,
                    )
                ],
                "1 = 1",
            )
        else:
            add({(cap, proposition.offer_id): -1})


#: What a budget's counters depend on: saving a rule that changes one of them
#: starts its counters again.
COUNTING_FIELDS = (
    "global_capping",
    "active",
    "period_days",
    "period_hours",
    "channel",
    "same_channel_only",
    "counted_statuses",
    "offer_condition",
)


def counting_of(rule: TypologyRule) -> tuple:
    return tuple(getattr(rule, name) for name in COUNTING_FIELDS)


def reset(rule: TypologyRule) -> None:
    """Start a global rule's counters again (it is new, or what its counters
    depend on changed): the current period counted from the proposition
    table, the others dropped (their keys may no longer be its periods)."""
    with transaction.atomic():
        CapUsage.objects.filter(rule=rule).delete()
        recount(rule, timezone.now())


def recount(rule: TypologyRule, date: datetime.datetime) -> None:
    """Count a global rule's counters of the period holding ``date`` from the
    proposition table (propositions stored other than by a call, e.g. in
    bulk, or before the rule existed)."""
    if not (rule.global_capping and rule.active):
        return
    period = datetime.timedelta(days=rule.period_days, hours=rule.period_hours)
    start = typology.period_start(period, date)
    propositions = Proposition.objects.filter(
        environment_id=rule.environment_id,
        offer__isnull=False,
        event_date__gte=start,
        event_date__lt=start + period,
    )
    if rule.channel:
        propositions = propositions.filter(channel=rule.channel)
    counted = statuses.COUNTED[rule.counted_statuses]
    if counted is not None:
        propositions = propositions.filter(status__in=counted)
    keys = ["offer_id", "channel"] if rule.same_channel_only else ["offer_id"]
    rows = [
        (rule.pk, row["offer_id"], row.get("channel", ""), start, row["count"])
        for row in propositions.order_by().values(*keys).annotate(count=Count("id"))
    ]
    with transaction.atomic():
        CapUsage.objects.filter(rule=rule, period_start=start).delete()
        if rows:
            # A counter a concurrent call created meanwhile is added to, not
            # replaced: it may count once too many, never one too few.
            _upsert([(*row, rule.quantity) for row in rows], "1 = 1")
