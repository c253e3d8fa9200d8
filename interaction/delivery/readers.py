"""The engine's contact directory and history reader, over the database.

Both run on every call, so their queries are compiled once per process (and
per shape: which tallies, how many caps) by
:class:`~interaction.delivery.prepared_query.PreparedQuery`. The history is
counted by the database (:class:`~interaction.engine.call.Tally`), which
returns only the counts that reach a rule's quantity (only a decisive tally's,
counted up to it, once that one reaches it), and comes with the
used-up global caps in the same statement; a contact identified by primary
key (the default) comes with both, so a call reads the database once.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    Field,
    IntegerField,
    Model,
    Q,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from ..engine.call import (
    PER_ALL,
    PER_CATEGORY,
    PER_OFFER,
    Contact,
    History,
    HistoryRequest,
)
from ..models import CapUsage, Proposition
from .prepared_query import PreparedQuery

Slot = Callable[[str, Field], RawSQL]
#: :attr:`~interaction.engine.call.Tally.shape`
TallyShape = tuple[str, bool, tuple[str, ...] | None]

#: Marks the rows of used-up caps among the tallies (``index`` column).
_CAP = -1


def _field(model: type[Model], name: str) -> Field:
    # The model's own columns: never a reverse relation.
    return cast(Field, model._meta.get_field(name))


#: The column a tally counts per (none: every proposition together).
_PER_COLUMN = {PER_OFFER: "offer_id", PER_CATEGORY: "category_id", PER_ALL: None}


def _counted(shape: TallyShape, where: Q, values: Callable[[str, Field], Any]) -> Q:
    """The propositions ``where`` selects that the tally of ``shape`` counts."""
    _per, channel, statuses = shape
    date = _field(Proposition, "event_date")
    filters = Q(
        where,
        event_date__gte=values("since", date),
        event_date__lte=values("until", date),
    )
    if channel:
        filters &= Q(channel=values("channel", _field(Proposition, "channel")))
    if statuses is not None:
        filters &= Q(status__in=statuses)
    return filters


def tally_counts(
    index: int,
    shape: TallyShape,
    where: Q,
    values: Callable[[str, Field], Any],
    by_contact: bool = False,
):
    """Rows ``(index, offer/category id or NULL, count)`` of the propositions
    ``where`` selects, counted as the tally of ``shape`` counts
    (:class:`~interaction.engine.call.Tally`), only the counts that reach its
    ``at_least``; ``by_contact``: per contact too, ``contact_key`` first.

    ``values(name, field)`` gives the tally's values: ``since``, ``until``,
    ``channel`` (when the shape has one) and ``at_least``.
    """
    column = _PER_COLUMN[shape[0]]
    contact = ["contact_key"] if by_contact else []
    return (
        Proposition.objects.filter(_counted(shape, where, values))
        .order_by()
        .annotate(
            tally=Value(index),
            key=F(column) if column else Cast(Value(None), BigIntegerField()),
        )
        .values(*contact, "tally", "key")
        # COUNT(*), not of a column: the contact index answers it alone.
        .annotate(count=Count("*"))
        .filter(count__gte=values("at_least", IntegerField()))
        .values_list(*contact, "tally", "key", "count")
    )


def _who(slot: Slot, visitor: bool, index: int) -> Q:
    who = "visitor_id" if visitor else "contact_key"
    return Q(
        environment_id=slot(f"environment{index}", _field(Proposition, "environment")),
        **{who: slot(f"key{index}", _field(Proposition, who))},
    )


def _tally(slot: Slot, visitor: bool, index: int, shape: TallyShape):
    """One tally of one contact (or visitor): ``(index, key, count)`` rows."""
    return tally_counts(
        index,
        shape,
        _who(slot, visitor, index),
        lambda name, field: slot(f"{name}{index}", field),
    )


def _decisive(slot: Slot, visitor: bool, index: int, shape: TallyShape):
    """The propositions a decisive tally (``PER_ALL``) counts, as
    ``(index, NULL)`` rows, for :meth:`PreparedQuery.counted`."""
    filters = _counted(
        shape,
        _who(slot, visitor, index),
        lambda name, field: slot(f"{name}{index}", field),
    )
    return (
        Proposition.objects.filter(filters)
        .order_by()
        .annotate(tally=Value(index), key=Cast(Value(None), BigIntegerField()))
        .values_list("tally", "key")
    )


def _used_up(slot: Slot, caps: int):
    """The counters of the caps used up in their current period, shaped as
    tallies: ``(_CAP, offer id, rule id)``."""
    conditions = [
        Q(
            rule_id=slot(f"rule{index}", _field(CapUsage, "rule")),
            period_start=slot(f"start{index}", _field(CapUsage, "period_start")),
            channel=slot(f"channel_cap{index}", _field(CapUsage, "channel")),
            used__gte=slot(f"quantity{index}", _field(CapUsage, "used")),
        )
        for index in range(caps)
    ]
    return (
        CapUsage.objects.filter(functools.reduce(operator.or_, conditions))
        .order_by()
        .values_list(Value(_CAP), "offer_id", "rule_id")
    )


@functools.cache
def _history_query(
    visitor: bool, shapes: tuple[TallyShape, ...], caps: int, decisive=frozenset()
) -> PreparedQuery:
    """The tallies of ``shapes`` (those at the indexes ``decisive`` counted up
    to their ``at_least``, the others only if none of those reaches it), then
    the used-up caps."""
    first = [
        PreparedQuery.compile(
            functools.partial(_decisive, visitor=visitor, index=index, shape=shape)
        ).counted(f"limit{index}", f"at_least{index}", IntegerField())
        for index, shape in enumerate(shapes)
        if index in decisive
    ]
    parts = [
        PreparedQuery.compile(
            functools.partial(_tally, visitor=visitor, index=index, shape=shape)
        )
        for index, shape in enumerate(shapes)
        if index not in decisive
    ]
    if first:
        # A contact over an all-offers rule (heavy histories are) is counted
        # up to the rule's quantity, not to its thousand propositions, and
        # the other rules' tallies are not counted at all.
        decided = functools.reduce(PreparedQuery.union_all, first)
        parts = [
            PreparedQuery.union_all(
                decided,
                functools.reduce(PreparedQuery.union_all, parts),
                if_first_empty=True,
            )
            if parts
            else decided
        ]
    if caps:
        parts.append(PreparedQuery.compile(lambda slot: _used_up(slot, caps)))
    # Sent as a row per tally (a contact with 1,000 propositions has hundreds
    # of offers counted twice a week: as many rows, each with the contact's
    # columns beside it).
    return functools.reduce(PreparedQuery.union_all, parts).collected().server_side()


def _uncollected(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, Any, Any]]:
    """The ``(tally, key, count)`` rows of :func:`_history_query`'s rows."""
    for tally, keys, counts in rows:
        for key, count in zip(keys, counts, strict=True):
            yield tally, key, count


def _history_values(
    environment_id: int, key: str | None, request: HistoryRequest
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if key is not None:
        for index, tally in enumerate(request.tallies):
            values |= {
                f"environment{index}": environment_id,
                f"key{index}": key,
                f"since{index}": request.date - tally.period,
                f"until{index}": request.date + tally.period,
                f"at_least{index}": tally.at_least,
            }
            if tally.decisive:
                values[f"limit{index}"] = max(tally.at_least, 1)
            if tally.channel:
                values[f"channel{index}"] = tally.channel
    for index, cap in enumerate(request.caps):
        values |= {
            f"rule{index}": cap.rule_id,
            f"start{index}": cap.start,
            f"channel_cap{index}": cap.channel,
            f"quantity{index}": cap.quantity,
        }
    return values


def history_of(rows: Iterable[Sequence[Any]], request: HistoryRequest) -> History:
    """The :class:`History` of ``(tally index, key, count)`` rows, those of
    used-up caps ``(_CAP, offer id, rule id)`` among them."""
    reached, exhausted = {}, set()
    for tally, key, count in rows:
        if tally == _CAP:
            exhausted.add((count, key))
        else:
            reached[(request.tallies[tally].rule_id, key)] = count
    return History(reached, frozenset(exhausted))


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
    ).server_side()


@functools.cache
def _contact_and_history_query(
    model,
    names: tuple[str, ...],
    shapes: tuple[TallyShape, ...],
    caps: int,
    decisive=frozenset(),
) -> PreparedQuery:
    return PreparedQuery.side_by_side(
        _contact_query(model, ("pk",), names),
        _history_query(False, shapes, caps, decisive),
    ).server_side()


def _shapes(request: HistoryRequest) -> tuple[TallyShape, ...]:
    return tuple(tally.shape for tally in request.tallies)


def _decisive_indexes(request: HistoryRequest) -> frozenset[int]:
    """The decisive tallies of ``request`` (:attr:`Tally.decisive`), by index."""
    return frozenset(
        index for index, tally in enumerate(request.tallies) if tally.decisive
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
        shapes = _shapes(request) if key is not None else ()
        if not shapes and not request.caps:
            return History()
        query = _history_query(
            visitor,
            shapes,
            len(request.caps),
            _decisive_indexes(request) if shapes else frozenset(),
        )
        values = _history_values(environment_id, key, request)
        return history_of(_uncollected(query.rows(**values)), request)


class NewVisitor(DatabaseHistory):
    """The history of a call whose visitor has none yet: nothing of its own
    to count (no query for it), the budgets of global caps read as usual."""

    def __init__(self, visitor: str):
        self.visitor = visitor

    def read(
        self,
        environment_id: int,
        key: str | None,
        visitor: bool,
        request: HistoryRequest,
    ) -> History:
        if visitor and key == self.visitor:
            request = dataclasses.replace(request, tallies=())
        return super().read(environment_id, key, visitor, request)


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
                and (history.tallies or history.caps)
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
            model,
            names,
            _shapes(request),
            len(request.caps),
            _decisive_indexes(request),
        )
        rows = query.rows(pk=pk, **_history_values(environment_id, key, request))
        if not rows:
            return None
        width = 1 + len(names)
        found, *attributes = rows[0][:width]
        history = None
        if str(found) == key:
            history = history_of(
                _uncollected(row[width:] for row in rows if row[-1] is not None),
                request,
            )
        return Contact(str(found), dict(zip(names, attributes, strict=True)), history)
