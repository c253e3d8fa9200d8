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
import uuid

from django.db import connection, transaction
from django.utils import timezone

from ..engine import core, statuses, typology
from ..engine.call import CapPeriod, Outcome, Proposal
from ..models import Proposition
from . import caps
from .snapshot import get_snapshot


def store_propositions(
    outcome: Outcome, interaction_id: uuid.UUID
) -> tuple[list[Proposal], list[int | None]]:
    """Store the outcome's propositions: those stored and their ids."""
    proposals, taken = _take_caps(outcome)
    try:
        ids = _insert(outcome, interaction_id, proposals)
    except BaseException:
        caps.give_back(taken)
        raise
    return proposals, ids


def _take_caps(outcome: Outcome) -> tuple[list[Proposal], list[tuple[CapPeriod, int]]]:
    """The proposals that got every counter they need, and what they took.

    A budget counts every contact's propositions: the counters of rules that
    do not apply to this contact are counted too, never refusing."""
    space = outcome.space
    applying = {rule.id for rule in outcome.capping_rules}
    counters = [
        (rule, cap if rule.id in applying else caps.uncapped(cap))
        for rule, cap in zip(
            outcome.counted_rules,
            typology.cap_periods(outcome.counted_rules, space.channel, outcome.date),
            strict=True,
        )
        if typology.takes_cap(rule, space.initial_status)
    ]
    proposals = outcome.proposals
    if not counters:
        return proposals, []
    held: dict[int, list[tuple[CapPeriod, int]]] = {}
    refused: set[int] = set()
    while True:
        wanted = [
            (cap, proposal.offer.id)
            for proposal in proposals
            if proposal.offer.id not in held
            for rule, cap in counters
            if typology.applies_to(rule, proposal.offer.id)
        ]
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
def _insert_sql(vendor: str, rows: int) -> str:
    table = connection.ops.quote_name(Proposition._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _COLUMNS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * rows)
    return f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING id"


def _insert(
    outcome: Outcome, interaction_id: uuid.UUID, proposals: list[Proposal]
) -> list[int | None]:
    """One ``INSERT … RETURNING id`` of the proposals (in this order)."""
    if not proposals:
        return []
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
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, len(proposals)), params)
        return [row[0] for row in cursor.fetchall()]


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
