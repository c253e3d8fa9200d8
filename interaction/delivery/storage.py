"""Step 9 of SPEC §5: store a call's propositions; move statuses forward.

Storing is one ``INSERT`` (autocommit, or part of the caller's transaction)
when no global cap applies. When one does, the offers' counters are taken
first, by one conditional upsert (:func:`.caps.take`): an offer whose budget
ran out meanwhile gives its place to the next one of the call's ranking (one
more statement per such turn), so a cap is never exceeded and a call still
shows as many offers as it can.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import cast

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from .. import conf
from ..engine import core, statuses, typology
from ..engine.call import CapPeriod, Outcome, Proposal
from ..engine.catalogue import CompiledRule
from ..models import Proposition
from . import caps, prepared_query
from .snapshot import get_snapshot

Counters = list[tuple[CompiledRule, CapPeriod]]


def store_propositions(
    outcome: Outcome, interaction_id: uuid.UUID
) -> tuple[list[Proposal], list[int | None]]:
    """Store the outcome's propositions: those stored and their ids."""
    counters = _counters(outcome)
    if counters and connection.vendor == "postgresql":
        ids = _take_and_insert(outcome, interaction_id, counters)
        if ids is not None:
            return outcome.proposals, ids
    proposals, taken = _take_caps(outcome, counters)
    try:
        ids = _insert(outcome, interaction_id, proposals)
    except BaseException:
        caps.give_back(taken)
        raise
    return proposals, ids


def _counters(outcome: Outcome) -> Counters:
    """The global caps storing the outcome takes, each with its counter.

    A budget counts every contact's propositions: the counters of rules that
    do not apply to this contact are counted too, never refusing."""
    space = outcome.space
    applying = {rule.id for rule in outcome.capping_rules}
    return [
        (rule, cap if rule.id in applying else caps.uncapped(cap))
        for rule, cap in zip(
            outcome.counted_rules,
            typology.cap_periods(outcome.counted_rules, space.channel, outcome.date),
            strict=True,
        )
        if typology.takes_cap(rule, space.initial_status)
    ]


def _wanted(proposals: list[Proposal], counters: Counters, held) -> list:
    return [
        (cap, proposal.offer.id)
        for proposal in proposals
        if proposal.offer.id not in held
        for rule, cap in counters
        if typology.applies_to(rule, proposal.offer.id)
    ]


def _take_and_insert(
    outcome: Outcome, interaction_id: uuid.UUID, counters: Counters
) -> list[int | None] | None:
    """PostgreSQL: take every counter the proposals need and insert them in
    one statement (data-modifying CTEs), all or nothing for the insert: the
    ids, or ``None`` when a budget ran out (what was taken is given back,
    and :func:`_take_caps` finds the offers that replace it)."""
    proposals = outcome.proposals
    wanted = _wanted(proposals, counters, ())
    if not wanted:
        return None
    take_sql, take_params = caps.take_statement(wanted)
    insert_params = _insert_params(outcome, interaction_id, proposals)
    sql = _take_and_insert_sql(take_sql, len(proposals))
    with connection.cursor() as cursor:
        rows = _store(cursor, sql, take_params + insert_params + [len(wanted)])
    ids = {rank: pk for pk, rank, _rule, _offer in rows if pk is not None}
    if ids:
        return [ids[proposal.rank] for proposal in proposals]
    got = {(rule, offer) for pk, _rank, rule, offer in rows if pk is None}
    caps.give_back(item for item in wanted if (item[0].rule_id, item[1]) in got)
    return None


@functools.cache
def _take_and_insert_sql(take_sql: str, rows: int) -> str:
    """:func:`_take_and_insert`'s statement: ``take_sql``, then the insert of
    ``rows`` propositions if it took every counter asked for."""
    table = connection.ops.quote_name(Proposition._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _COLUMNS)
    return (
        f"WITH taken AS ({take_sql}), stored AS ("
        f"INSERT INTO {table} ({columns}) SELECT * FROM ({_typed_values_sql(rows)}) "
        "AS rows WHERE (SELECT count(*) FROM taken) = %s RETURNING id, rank) "
        "SELECT id, rank, NULL, NULL FROM stored "
        "UNION ALL SELECT NULL, NULL, rule_id, offer_id FROM taken"
    )


def _take_caps(
    outcome: Outcome, counters: Counters
) -> tuple[list[Proposal], list[tuple[CapPeriod, int]]]:
    """The proposals that got every counter they need, and what they took."""
    proposals = outcome.proposals
    if not counters:
        return proposals, []
    held: dict[int, list[tuple[CapPeriod, int]]] = {}
    refused: set[int] = set()
    while True:
        wanted = _wanted(proposals, counters, held)
        got = caps.take(wanted)
        for cap, offer_id in wanted:
            if (cap.rule_id, offer_id) in got:
                held.setdefault(offer_id, []).append((cap, offer_id))
        short = {
            offer_id for cap, offer_id in wanted if (cap.rule_id, offer_id) not in got
        }
        if not short:
            break
        # An offer refused by one of its caps gives back what the others gave.
        caps.give_back(item for offer_id in short for item in held.pop(offer_id, []))
        refused |= short
        proposals = core.choose(outcome.ranking, outcome.limit, refused)
    kept = {proposal.offer.id for proposal in proposals}
    extra = [
        item
        for offer_id, items in held.items()
        if offer_id not in kept
        for item in items
    ]
    caps.give_back(extra)
    return proposals, [item for offer_id in kept for item in held.get(offer_id, [])]


_COLUMNS = (
    "interaction_id",
    "environment_id",
    "offer_id",
    "offer_code",
    "category_id",
    "space_id",
    "channel",
    "contact_key",
    "visitor_id",
    "rank",
    "weight",
    "status",
    "event_date",
    "last_modified",
)


@functools.cache
def _values_sql(rows: int) -> str:
    return "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * rows)


@functools.cache
def _typed_values_sql(rows: int) -> str:
    """:func:`_values_sql` with each value cast to its column's type, for a
    ``VALUES`` that is not the insert's own (PostgreSQL cannot tell the types
    of a prepared statement's parameters there)."""
    # Without a length: a cast to varchar(n) would cut a longer value where
    # the insert must refuse it.
    casts = []
    for name in _COLUMNS:
        kind = cast(Field, Proposition._meta.get_field(name)).db_type(connection)
        casts.append(f"CAST(%s AS {re.sub(r'[(][0-9]+[)]', '', kind or '')})")
    return "VALUES " + ", ".join(["(" + ", ".join(casts) + ")"] * rows)


@functools.cache
def _insert_sql(vendor: str, rows: int) -> str:
    table = connection.ops.quote_name(Proposition._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _COLUMNS)
    return f"INSERT INTO {table} ({columns}) {_values_sql(rows)} RETURNING id"


def _insert(
    outcome: Outcome, interaction_id: uuid.UUID, proposals: list[Proposal]
) -> list[int | None]:
    """One ``INSERT … RETURNING id`` of the proposals (in this order)."""
    if not proposals:
        return []
    params = _insert_params(outcome, interaction_id, proposals)
    with connection.cursor() as cursor:
        rows = _store(cursor, _insert_sql(connection.vendor, len(proposals)), params)
    return [row[0] for row in rows]


#: Sent before a storing statement, in the same query (one round trip):
#: PostgreSQL runs both as one implicit transaction, committed without
#: waiting for the disk.
ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF; "


def commit_mode() -> str:
    """:data:`ASYNC_COMMIT` when it applies (:func:`.conf.async_commit`, on
    PostgreSQL, outside the caller's transaction), else nothing."""
    if (
        connection.vendor == "postgresql"
        and connection.get_autocommit()
        and conf.async_commit()
    ):
        return ASYNC_COMMIT
    return ""


def _store(cursor, sql: str, params: list) -> list:
    """The rows of the storing statement ``sql``, sent after :func:`commit_mode`
    in one query, as a statement prepared once per connection where it
    applies (:func:`.prepared_query.execute`: a store's statement is one of
    few shapes, planned each time otherwise)."""
    prepared_query.execute(connection, cursor, sql, params, prefix=commit_mode())
    return cursor.fetchall()


def _insert_params(
    outcome: Outcome, interaction_id: uuid.UUID, proposals: list[Proposal]
) -> list:
    """The values of the proposals' rows, row by row, column by column
    (:data:`_COLUMNS`), for :func:`_values_sql` or :func:`_typed_values_sql`."""
    space = outcome.space
    meta = Proposition._meta
    uuid_value = meta.get_field("interaction_id").get_db_prep_value(
        interaction_id, connection
    )
    date_field = meta.get_field("event_date")
    event_date = date_field.get_db_prep_value(outcome.date, connection)
    now = date_field.get_db_prep_value(timezone.now(), connection)
    params: list = []
    for p in proposals:
        params += [
            uuid_value,
            space.environment_id,
            p.offer.id,
            p.offer.code,
            p.offer.category_id,
            space.id,
            space.channel,
            outcome.contact_key or "",
            outcome.visitor or "",
            p.rank,
            p.weight,
            space.initial_status,
            event_date,
            now,
        ]
    return params


def update_status(proposition: Proposition, status: str) -> Proposition:
    """Set ``status`` now, unless the proposition already went as far or further.

    One conditional ``UPDATE``: concurrent updates can never move a status
    backwards, and the same status again changes nothing (idempotent).
    ``proposition`` is refreshed with the stored status.
    """
    if status not in statuses.LEVELS:
        raise ValueError(f"Unknown status “{status}”.")
    rules = _status_caps(proposition)
    if rules:
        return _update_counted_status(proposition, status, rules)
    now = timezone.now()
    moved = Proposition.objects.filter(
        pk=proposition.pk, status__in=statuses.sources(status)
    ).update(status=status, last_modified=now)
    if moved:
        proposition.status, proposition.last_modified = status, now
    else:
        proposition.refresh_from_db(fields=["status", "last_modified"])
    return proposition


def _status_caps(proposition: Proposition) -> list:
    """The live global caps that count some statuses of this proposition."""
    environment = get_snapshot().catalogue.environments.get(proposition.environment_id)
    if environment is None:
        return []
    return [
        rule
        for rule in environment.rules
        if rule.global_capping
        and rule.counted_statuses is not None
        and (not rule.channel or rule.channel == proposition.channel)
        and typology.applies_to(rule, proposition.offer_id)
    ]


def _update_counted_status(
    proposition: Proposition, status: str, rules: list
) -> Proposition:
    """:func:`update_status` counting the move in the caps of ``rules``."""
    with transaction.atomic():
        old = (
            Proposition.objects.select_for_update()
            .filter(pk=proposition.pk)
            .values_list("status", flat=True)
            .first()
        )
        if old is None or old not in statuses.sources(status):
            proposition.refresh_from_db(fields=["status", "last_modified"])
            return proposition
        now = timezone.now()
        Proposition.objects.filter(pk=proposition.pk).update(
            status=status, last_modified=now
        )
        caps.move(rules, proposition, old, status)
    proposition.status, proposition.last_modified = status, now
    return proposition
