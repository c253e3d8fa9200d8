"""The engine's history reader and contact lookup, over the ORM."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count

from .engine.call import HistoryRow
from .models import Proposition


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
        who = {"visitor_id": contact_key} if visitor else {"contact_ref": contact_key}
        rows = (
            Proposition.objects.filter(
                environment_id=environment_id,
                event_date__range=(since, until),
                **who,
            )
            .order_by()
            .values_list("offer_id", "category_id", "channel", "status", "event_date")
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
        try:
            rows = list(
                model._default_manager.filter(**dict(zip(fields, values, strict=True)))
                .order_by()
                .values("pk", *names)[:1]
            )
        except (ValueError, TypeError, ValidationError):
            return None
        if not rows:
            return None
        row = rows[0]
        return str(row.pop("pk")), row
