"""The engine's contact directory and history reader, over the database.

Both run on every call, so their queries are compiled once per process
(:class:`~interaction.delivery.prepared_query.PreparedQuery`), and a contact
identified by primary key (the default) comes with its history in one round
trip when the engine asks for it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import cast

from django.core.exceptions import ValidationError
from django.db.models import Count, Field

from ..engine.call import Contact, HistoryRow, Period
from ..models import Proposition
from .prepared_query import PreparedQuery


@functools.cache
def _history_query(visitor: bool) -> PreparedQuery:
    def field(name: str) -> Field:
        # Proposition's own columns: never a reverse relation.
        return cast(Field, Proposition._meta.get_field(name))

    who = "visitor_id" if visitor else "contact_key"
    return PreparedQuery.compile(
        lambda slot: (
            Proposition.objects.filter(
                environment_id=slot("environment", field("environment")),
                event_date__gte=slot("since", field("event_date")),
                event_date__lte=slot("until", field("event_date")),
                **{who: slot("key", field(who))},
            )
            .order_by()
            .values_list("offer_id", "category_id", "channel", "status", "event_date")
        )
    )


@functools.cache
def _contact_query(model, fields: tuple[str, ...], names: tuple[str, ...]):
    def field(name):
        if name == "pk":
            return model._meta.pk
        target = model
        for part in name.split("__")[:-1]:
            target = target._meta.get_field(part).related_model
        return target._meta.get_field(name.split("__")[-1])

    return PreparedQuery.compile(
        lambda slot: (
            model._default_manager.filter(
                **{name: slot(name, field(name)) for name in fields}
            )
            .order_by()
            .values_list("pk", *names)[:1]
        )
    )


@functools.cache
def _contact_and_history_query(model, names: tuple[str, ...]) -> PreparedQuery:
    return PreparedQuery.side_by_side(
        _contact_query(model, ("pk",), names), _history_query(False)
    )


class DatabaseHistory:
    """Reads the proposition table with the history indexes."""

    def contact_history(
        self, environment_id: int, key: str, visitor: bool, period: Period
    ) -> Sequence[HistoryRow]:
        since, until = period
        rows = _history_query(visitor).rows(
            environment=environment_id, key=key, since=since, until=until
        )
        return [HistoryRow(*row) for row in rows]

    def offer_counts(
        self,
        offer_ids: Sequence[int],
        period: Period,
        channel: str | None,
        statuses: frozenset[str] | None,
    ) -> Mapping[int, int]:
        rows = Proposition.objects.filter(
            offer_id__in=offer_ids, event_date__range=period
        )
        if channel:
            rows = rows.filter(channel=channel)
        if statuses is not None:
            rows = rows.filter(status__in=statuses)
        return dict(
            rows.order_by()
            .values("offer_id")
            .annotate(count=Count("id"))
            .values_list("offer_id", "count")
        )


class DatabaseDirectory:
    """Finds contacts of each environment's dimension model: one query per call.

    A contact identified by primary key, asked for with a history period,
    comes with its history in that period from the same query.
    """

    def __init__(self, dimensions: Mapping[int, tuple[type, tuple[str, ...]]]):
        #: Environment id -> (contact model, the targetable field names).
        self.dimensions = dimensions

    def find(
        self,
        environment_id: int,
        fields: Sequence[str],
        values: Sequence[str],
        history: Period | None,
    ) -> Contact | None:
        model, names = self.dimensions[environment_id]
        try:
            if tuple(fields) == ("pk",) and history is not None:
                return self._with_history(
                    environment_id, model, names, values[0], history
                )
            query = _contact_query(model, tuple(fields), names)
            rows = query.rows(**dict(zip(fields, values, strict=True)))
        # OverflowError: an integer id no database column holds (SQLite).
        except (ValueError, TypeError, OverflowError, ValidationError):
            return None
        if not rows:
            return None
        pk, *attributes = rows[0]
        return Contact(str(pk), dict(zip(names, attributes, strict=True)))

    def _with_history(self, environment_id, model, names, pk, period: Period):
        since, until = period
        key = str(model._meta.pk.to_python(pk))
        rows = _contact_and_history_query(model, names).rows(
            pk=pk, environment=environment_id, key=key, since=since, until=until
        )
        if not rows:
            return None
        width = 1 + len(names)
        found, *attributes = rows[0][:width]
        history = None
        if str(found) == key:
            history = [HistoryRow(*row[width:]) for row in rows if row[-1] is not None]
        return Contact(str(found), dict(zip(names, attributes, strict=True)), history)
