"""A campaign run's chunks: cut, read and written set-based (see :mod:`.runs`).

A chunk is a range of consecutive primary keys of the population. Its
contacts and their history come in one query (:func:`read_contacts`), its
propositions go in one statement (:func:`insert`): PostgreSQL's ``INSERT …
SELECT FROM unnest(arrays)``, whatever the number of rows.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, F, Field, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from ..delivery import readers
from ..delivery.prepared_query import PreparedQuery
from ..engine import batch
from ..engine.call import Contact, HistoryRequest
from ..engine.catalogue import CompiledSpace
from ..models import CampaignRun, CapUsage, Proposition


def bounds(population: QuerySet, size: int) -> Iterator[tuple[Any, Any, int]]:
    """The (first key, last key, contacts) of each chunk of ``size`` contacts
    of ``population`` in key order: one query, which returns only each
    chunk's first and last row (the database numbers the rows)."""
    keys = (
        population.order_by()
        .annotate(interaction_key=F("pk"))
        .values("interaction_key")
    )
    try:
        inner, params = keys.query.get_compiler(using=population.db).as_sql()
    except EmptyResultSet:  # a population no contact can match, e.g. "any of []"
        return
    sql = (
        "SELECT interaction_key, position, total FROM (SELECT interaction_key, "
        "ROW_NUMBER() OVER (ORDER BY interaction_key) AS position, "
        f"COUNT(*) OVER () AS total FROM ({inner}) population_rows) numbered "
        "WHERE (position - 1) %% %s = 0 OR position %% %s = 0 OR position = total "
        "ORDER BY position"
    )
    pk = population.model._meta.pk
    assert pk is not None
    first = None
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, size, size])
        for key, position, total in cursor.fetchall():
            key = pk.to_python(key)
            if (position - 1) % size == 0:
                first = key
            if position % size == 0 or position == total:
                yield first, key, (position - 1) % size + 1


# -- Reading: contacts and their history in one query -----------------------------


def read_contacts(
    model: type[Model],
    names: Sequence[str],
    population: Q,
    environment_id: int,
    history: HistoryRequest,
) -> list[Contact]:
    """The contacts of ``model`` that ``population`` selects (the chunk's
    key range included), in key order, with their targetable fields
    (``names``) and their history counted by the database as
    :mod:`interaction.delivery.readers` counts one contact's, in one query;
    plus the used-up global caps (one more query, when a cap applies)."""
    contacts = (
        model._default_manager.filter(population)
        .order_by()
        .annotate(interaction_key=Cast("pk", output_field=CharField()))
    )
    query = PreparedQuery.compile(
        lambda slot: contacts.values_list("pk", *names, "interaction_key")
    )
    if history.tallies and connection.vendor == "postgresql":
        # Each contact's counts read by the history index, whatever the
        # planner's estimates (a fresh table's made it scan the history of
        # the whole environment once per contact).
        outer = RawSQL("first_rows.interaction_key", (), output_field=CharField())
        counts = _counts(environment_id, history, Q(contact_key=outer))
        query = PreparedQuery.left_join(
            query, PreparedQuery.compile(lambda slot: counts), "TRUE", lateral=True
        )
    elif history.tallies:
        keys = Q(contact_key__in=contacts.values("interaction_key"))
        counts = _counts(environment_id, history, keys)
        query = PreparedQuery.left_join(
            query,
            PreparedQuery.compile(lambda slot: counts),
            "second_rows.contact_key = first_rows.interaction_key",
        )
    width = len(names) + 2
    attributes: dict[Any, tuple] = {}
    counted: defaultdict[Any, list[tuple]] = defaultdict(list)
    for row in query.rows():
        pk = row[0]
        if pk not in attributes:
            attributes[pk] = tuple(row[1 : width - 1])
        if len(row) > width and row[-1] is not None:
            counted[pk].append(row[width + 1 :])
    exhausted = _exhausted(history)
    return [
        Contact(
            str(pk),
            dict(zip(names, attributes[pk], strict=True)),
            dataclasses.replace(
                readers.history_of(counted.get(pk, ()), history), exhausted=exhausted
            ),
        )
        for pk in sorted(attributes)
    ]


def _counts(environment_id: int, request: HistoryRequest, contacts: Q):
    """The tallies of the contacts ``contacts`` selects:
    ``(contact key, tally index, key, count)`` rows."""
    parts = []
    for index, tally in enumerate(request.tallies):
        values: dict[str, Any] = {
            "since": request.date - tally.period,
            "until": request.date + tally.period,
            "channel": tally.channel,
            "at_least": tally.at_least,
        }
        parts.append(
            readers.tally_counts(
                index,
                tally.shape,
                Q(contacts, environment_id=environment_id),
                _given(values),
                by_contact=True,
            )
        )
    return functools.reduce(lambda first, second: first.union(second, all=True), parts)


def _given(values: dict[str, Any]) -> Callable[[str, Field], Any]:
    return lambda name, _field: values[name]


def _exhausted(request: HistoryRequest) -> frozenset[tuple[int, int]]:
    """(rule id, offer id) of the request's caps used up in their period."""
    if not request.caps:
        return frozenset()
    used_up = Q(pk__in=[])
    for cap in request.caps:
        used_up |= Q(
            rule_id=cap.rule_id,
            period_start=cap.start,
            channel=cap.channel,
            used__gte=cap.quantity,
        )
    return frozenset(
        CapUsage.objects.filter(used_up).values_list("rule_id", "offer_id")
    )


# -- Writing: one INSERT ------------------------------------------------------------


_CONSTANT_COLUMNS = (
    "environment_id",
    "space_id",
    "channel",
    "visitor_id",
    "campaign_id",
    "run_id",
    "status",
    "event_date",
    "last_modified",
)
#: Per proposition: (column, PostgreSQL array type).
_ROW_COLUMNS = (
    ("interaction_id", "uuid[]"),
    ("offer_id", "bigint[]"),
    ("offer_code", "varchar[]"),
    ("category_id", "bigint[]"),
    ("contact_key", "varchar[]"),
    ("rank", "smallint[]"),
    ("weight", "double precision[]"),
)


def insert(
    run: CampaignRun, space: CompiledSpace, choices: Sequence[batch.Choice]
) -> int:
    """Write the choices' propositions with one statement; how many."""
    rows = [
        (str(uuid.uuid4()), choice.contact.key, choice.proposals)
        for choice in choices
        if choice.proposals
    ]
    if not rows:
        return 0
    now = timezone.now()
    constants = {
        "environment_id": space.environment_id,
        "space_id": space.id,
        "channel": space.channel,
        "visitor_id": "",
        "campaign_id": run.campaign_id,
        "run_id": run.pk,
        "status": space.initial_status,
        "event_date": run.contact_date,
        "last_modified": now,
    }
    columns: list[list[Any]] = [[] for _ in _ROW_COLUMNS]
    for interaction_id, key, proposals in rows:
        for proposal in proposals:
            offer = proposal.offer
            for values, value in zip(
                columns,
                (
                    interaction_id,
                    offer.id,
                    offer.code,
                    offer.category_id,
                    key,
                    proposal.rank,
                    proposal.weight,
                ),
                strict=True,
            ):
                values.append(value)
    if connection.vendor != "postgresql":
        Proposition.objects.bulk_create(
            [
                Proposition(
                    **{
                        name: values[index]
                        for (name, _type), values in zip(
                            _ROW_COLUMNS, columns, strict=True
                        )
                    },
                    **constants,
                )
                for index in range(len(columns[0]))
            ],
            batch_size=500,
        )
        return len(columns[0])
    quote = connection.ops.quote_name
    names = [name for name, _type in _ROW_COLUMNS] + list(_CONSTANT_COLUMNS)
    arrays = ", ".join(f"%s::{array_type}" for _name, array_type in _ROW_COLUMNS)
    sql = (
        f"INSERT INTO {quote(Proposition._meta.db_table)} "
        f"({', '.join(quote(name) for name in names)}) "
        f"SELECT batch_rows.*, {', '.join(['%s'] * len(_CONSTANT_COLUMNS))} "
        f"FROM unnest({arrays}) AS batch_rows"
    )
    date_field = Proposition._meta.get_field("event_date")
    params: list[Any] = [
        date_field.get_db_prep_value(value, connection)
        if isinstance(value, datetime.datetime)
        else value
        for value in constants.values()
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params + columns)
        return cursor.rowcount
