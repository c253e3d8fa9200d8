"""The engine's history reader and contact lookup, over the database.

Both run on every call, so their queries are compiled once per process
(:class:`~interaction.prepared_query.PreparedQuery`).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count

from .engine.call import HistoryRow
from .models import Proposition
from .prepared_query import PreparedQuery


@functools.cache
def _history_query(visitor: bool) -> PreparedQuery:
    field = Proposition._meta.get_field
    who = "visitor_id" if visitor else "contact_ref"
    return PreparedQuery(
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

    return PreparedQuery(
        lambda slot: (
            model._default_manager.filter(
                **{name: slot(name, field(name)) for name in fields}
            )
            .order_by()
            .values_list("pk", *names)[:1]
        )
    )


class DatabaseHistory:
    """Reads the proposition table with the history indexes."""

    def contact_history(
        self,
        environment_id: int,
        contact_key: str,
        visitor: bool,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> Sequence[HistoryRow]:
        rows = _history_query(visitor).rows(
            environment=environment_id, key=contact_key, since=since, until=until
        )
        return [HistoryRow(*row) for row in rows]

    def offer_counts(
        self,
        offer_ids: Sequence[int],
        since: datetime.datetime,
        until: datetime.datetime,
        channel: str | None,
        statuses: frozenset[str] | None,
    ) -> Mapping[int, int]:
        rows = Proposition.objects.filter(
            offer_id__in=offer_ids, event_date__range=(since, until)
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


class ContactDirectory:
    """Finds contacts by a space's identification fields: one query per call."""

    def __init__(self, dimensions: Mapping[int, tuple[type, tuple[str, ...]]]):
        self.dimensions = dimensions

    def __call__(
        self, environment_id: int, fields: Sequence[str], values: Sequence[str]
    ):
        model, names = self.dimensions[environment_id]
        query = _contact_query(model, tuple(fields), names)
        try:
            rows = query.rows(**dict(zip(fields, values, strict=True)))
        except (ValueError, TypeError, ValidationError):
            return None
        if not rows:
            return None
        pk, *attributes = rows[0]
        return str(pk), dict(zip(names, attributes, strict=True))
