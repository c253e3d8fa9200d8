"""The engine's history reader and contact lookup, over the database.

Both run on every call, so their queries are compiled once per process
(:class:`~interaction.prepared_query.PreparedQuery`), and a contact identified
by primary key (the default) comes with its history in one round trip.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count

from .engine.call import HistoryRow
from .engine.catalogue import Catalogue
from .models import Proposition
from .prepared_query import PreparedQuery


@functools.cache
def _history_query(visitor: bool) -> PreparedQuery:
    field = Proposition._meta.get_field
    who = "visitor_id" if visitor else "contact_ref"
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
    """Reads the proposition table with the history indexes.

    One instance serves one call: the contact lookup may hand it the contact's
    history it read along with the contact (:meth:`remember`).
    """

    def __init__(self):
        self._remembered = None

    def remember(self, environment_id, contact_key, since, until, rows) -> None:
        """``rows``: the whole history of a contact between ``since`` and ``until``."""
        self._remembered = (environment_id, contact_key, since, until, rows)

    def contact_history(
        self,
        environment_id: int,
        contact_key: str,
        visitor: bool,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> Sequence[HistoryRow]:
        if self._remembered is not None and not visitor:
            environment, key, start, end, rows = self._remembered
            if (environment, key) == (environment_id, contact_key) and (
                start <= since and until <= end
            ):
                return [row for row in rows if since <= row.event_date <= until]
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
    """Finds contacts by a space's identification fields: one query per call.

    With a ``history`` and a call ``date``, a contact identified by primary key
    comes with its history within the environment's history period around
    the date (the same query), which the history then serves.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        dimensions: Mapping[int, tuple[type, tuple[str, ...]]],
        history: DatabaseHistory | None = None,
        date: datetime.datetime | None = None,
    ):
        self.catalogue = catalogue
        self.dimensions = dimensions
        self.history = history
        self.date = date

    def __call__(
        self, environment_id: int, fields: Sequence[str], values: Sequence[str]
    ):
        model, names = self.dimensions[environment_id]
        period = self.catalogue.environments[environment_id].history_period
        try:
            if tuple(fields) == ("pk",) and period and self.history is not None:
                return self._with_history(
                    environment_id, model, names, values[0], period
                )
            query = _contact_query(model, tuple(fields), names)
            rows = query.rows(**dict(zip(fields, values, strict=True)))
        except (ValueError, TypeError, ValidationError):
            return None
        if not rows:
            return None
        pk, *attributes = rows[0]
        return str(pk), dict(zip(names, attributes, strict=True))

    def _with_history(self, environment_id, model, names, pk, period):
        since, until = self.date - period, self.date + period
        key = str(model._meta.pk.to_python(pk))
        rows = _contact_and_history_query(model, names).rows(
            pk=pk, environment=environment_id, key=key, since=since, until=until
        )
        if not rows:
            return None
        width = 1 + len(names)
        found, *attributes = rows[0][:width]
        if str(found) == key:
            history = [HistoryRow(*row[width:]) for row in rows if row[-1] is not None]
            self.history.remember(environment_id, key, since, until, history)
        return str(found), dict(zip(names, attributes, strict=True))
