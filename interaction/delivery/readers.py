"""The engine's contact directory and history reader, over the database.

Both run on every call, so their queries are compiled once per process (and
per shape: how many windows and caps) by
:class:`~interaction.delivery.prepared_query.PreparedQuery`. The history is
counted by the database (:class:`~interaction.engine.call.HistoryCount`), not
fetched row by row, and comes with the used-up global caps in the same
statement; a contact identified by primary key (the default) comes with both,
so a call reads the database once.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Field, Model, Q, Value, When
from django.db.models.expressions import RawSQL

from ..engine.call import Contact, History, HistoryCount, HistoryRequest
from ..models import CapUsage, Proposition
from .prepared_query import PreparedQuery

Slot = Callable[[str, Field], RawSQL]

#: Marks the rows of used-up caps among the counts (``window`` column).
_CAP = -1


def _field(model: type[Model], name: str) -> Field:
    # The model's own columns: never a reverse relation.
    return cast(Field, model._meta.get_field(name))


def _counts(slot: Slot, visitor: bool, windows: int):
    """A contact's (or visitor's) propositions counted per offer, category,
    channel, status and narrowest window (``date ± period``, widest last)."""
    who = "visitor_id" if visitor else "contact_key"
    date = _field(Proposition, "event_date")
    widest = windows - 1
    narrowest = [
        When(
            event_date__gte=slot(f"since{index}", date),
            event_date__lte=slot(f"until{index}", date),
            then=Value(index),
        )
        for index in range(widest)
    ]
    return (
        Proposition.objects.filter(
            environment_id=slot("environment", _field(Proposition, "environment")),
            event_date__gte=slot(f"since{widest}", date),
            event_date__lte=slot(f"until{widest}", date),
            **{who: slot("key", _field(Proposition, who))},
        )
        .order_by()
        .annotate(window=Case(*narrowest, default=Value(widest)))
        .values("offer_id", "category_id", "channel", "status", "window")
        .annotate(count=Count("id"))
        .values_list("offer_id", "category_id", "channel", "status", "window", "count")
    )


def _used_up(slot: Slot, caps: int):
    """The counters of the caps used up in their current period, shaped as
    counts (the rule id in ``category_id``, ``window`` = ``_CAP``)."""
    conditions = [
        Q(
            rule_id=slot(f"rule{index}", _field(CapUsage, "rule")),
            period_start=slot(f"start{index}", _field(CapUsage, "period_start")),
            channel=slot(f"channel{index}", _field(CapUsage, "channel")),
            used__gte=slot(f"quantity{index}", _field(CapUsage, "used")),
        )
        for index in range(caps)
    ]
    return (
        CapUsage.objects.filter(functools.reduce(operator.or_, conditions))
        .order_by()
        .values_list(
            "offer_id",
            "rule_id",
            Value(""),
            Value(""),
            Value(_CAP),
            Value(0),
        )
    )


@functools.cache
def _history_query(visitor: bool, windows: int, caps: int) -> PreparedQuery:
    parts = []
    if windows:
        parts.append(
            PreparedQuery.compile(lambda slot: _counts(slot, visitor, windows))
        )
    if caps:
        parts.append(PreparedQuery.compile(lambda slot: _used_up(slot, caps)))
    return functools.reduce(PreparedQuery.union_all, parts)


def _history_values(
    environment_id: int, key: str | None, request: HistoryRequest
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if key is not None and request.periods:
        values |= {"environment": environment_id, "key": key}
        for index, period in enumerate(request.periods):
            values[f"since{index}"] = request.date - period
            values[f"until{index}"] = request.date + period
    for index, cap in enumerate(request.caps):
        values |= {
            f"rule{index}": cap.rule_id,
            f"start{index}": cap.start,
            f"channel{index}": cap.channel,
            f"quantity{index}": cap.quantity,
        }
    return values


def _history(rows: Sequence[Sequence[Any]]) -> History:
    counts, exhausted = [], set()
    for offer_id, category_id, channel, status, window, count in rows:
        if window == _CAP:
            exhausted.add((category_id, offer_id))
        else:
            counts.append(
                HistoryCount(offer_id, category_id, channel, status, window, count)
            )
    return History(counts, frozenset(exhausted))


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
def _contact_and_history_query(
    model, names: tuple[str, ...], windows: int, caps: int
) -> PreparedQuery:
    return PreparedQuery.side_by_side(
        _contact_query(model, ("pk",), names), _history_query(False, windows, caps)
    )


class DatabaseHistory:
    """Counts a contact's propositions and reads used-up caps: one query."""

    def read(
        self,
        environment_id: int,
        key: str | None,
        visitor: bool,
        request: HistoryRequest,
    ) -> History:
        windows = len(request.periods) if key is not None else 0
        if not windows and not request.caps:
            return History()
        query = _history_query(visitor, windows, len(request.caps))
        return _history(query.rows(**_history_values(environment_id, key, request)))


class DatabaseDirectory:
    """Finds contacts of each environment's dimension model: one query per call.

    A contact identified by primary key, asked for with a history request,
    comes with its history from the same query.
    """

    def __init__(self, dimensions: Mapping[int, tuple[type, tuple[str, ...]]]):
        #: Environment id -> (contact model, the targetable field names).
        self.dimensions = dimensions

    def find(
        self,
        environment_id: int,
        fields: Sequence[str],
        values: Sequence[str],
        history: HistoryRequest | None,
    ) -> Contact | None:
        model, names = self.dimensions[environment_id]
        try:
            if (
                tuple(fields) == ("pk",)
                and history is not None
                and (history.periods or history.caps)
            ):
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

    def _with_history(self, environment_id, model, names, pk, request):
        key = str(model._meta.pk.to_python(pk))
        query = _contact_and_history_query(
            model, names, len(request.periods), len(request.caps)
        )
        rows = query.rows(pk=pk, **_history_values(environment_id, key, request))
        if not rows:
            return None
        width = 1 + len(names)
        found, *attributes = rows[0][:width]
        history = None
        if str(found) == key:
            history = _history([row[width:] for row in rows if row[-1] is not None])
        return Contact(str(found), dict(zip(names, attributes, strict=True)), history)
