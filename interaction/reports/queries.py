"""The reports' figures, each one grouped query on the proposition table.

Offers are identified by their code within their environment
(``Proposition.offer_code``), which a proposition keeps when its offer is
unpublished, expires or is deleted (the foreign key is then null): an
offer's history stays in the reports whatever becomes of the offer. Labels
are looked up afterwards for the rows shown (:func:`offer_labels`).

"Presented" counts the propositions that reached ``presented`` or any later
status (a status never goes back, :mod:`interaction.engine.statuses`), so an
accepted proposition is presented too; "accepted" and "rejected" count
those statuses. Rates are per proposition, in percent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db import connections, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from ..engine import statuses
from ..models import Environment, Offer, OfferSpace

#: How the offer analysis splits each offer's figures.
BY_OFFER = "offer"
BY_DAY = "day"
BY_SPACE = "space"
BY_CAMPAIGN = "campaign"
GROUPINGS = {
    BY_OFFER: _("Offer"),
    BY_DAY: _("Offer and day"),
    BY_SPACE: _("Offer and space"),
    BY_CAMPAIGN: _("Offer and campaign"),
}
#: The columns each grouping adds to (environment, offer code).
_GROUP_FIELDS = {
    BY_OFFER: (),
    BY_DAY: ("day",),
    BY_SPACE: ("space_id",),
    BY_CAMPAIGN: ("campaign_id",),
}
FIGURES = ("propositions", "presented", "accepted", "rejected")
#: PostgreSQL's memory for the grouping of a report's page (the default,
#: 4 MB, spills the 60,729 groups of 1,000 offers over 60 days to disk: they
#: take 15 MB); per process, ``SET LOCAL`` in the statement's transaction
#: (the request's, with ``ATOMIC_REQUESTS``).
WORK_MEM = "32MB"


def figures() -> dict[str, Count]:
    """The counted columns, as aggregates (one pass over the rows)."""
    return {
        "propositions": Count("pk"),
        "presented": Count("pk", filter=~Q(status=statuses.PROPOSED)),
        "accepted": Count("pk", filter=Q(status=statuses.ACCEPTED)),
        "rejected": Count("pk", filter=Q(status=statuses.REJECTED)),
    }


def rate(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, one decimal (0 of nothing)."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def offer_analysis(propositions: QuerySet, by: str = BY_OFFER) -> QuerySet:
    """Per offer (and day, space or campaign): the counted columns.

    One ``GROUP BY`` over ``propositions`` (already filtered and scoped),
    most propositions first; rows are dicts.
    """
    rows = propositions
    if by == BY_DAY:
        rows = rows.annotate(day=TruncDate("event_date"))
    return (
        rows.order_by()
        .values("environment_id", "offer_code", *_GROUP_FIELDS[by])
        .annotate(**figures())
        .order_by(*_ordering(by))
    )


def _ordering(by: str) -> list[str]:
    """The rows' order, total (it ends with the group's key: pages are
    slices of it)."""
    if by == BY_DAY:
        return ["-day", "-propositions", "environment_id", "offer_code"]
    return ["-propositions", "environment_id", "offer_code", *_GROUP_FIELDS[by]]


class GroupedPage:
    """:func:`offer_analysis` rows as Django's paginator reads them (their
    count, then one slice), from one statement that groups once: the slice
    in the rows' order, the number of rows (a window count) and, grouped per
    day, the counted columns per day (:attr:`days`, the chart) added up from
    the same groups. A page does not read every group into Python (60,729
    per offer and day over the bench's 1,000,000 propositions).

    ``offset`` and ``limit`` are the slice the page will ask for, read at
    the first question; another slice is another statement.
    """

    def __init__(self, rows: QuerySet, by: str, offset: int, limit: int):
        self.rows = rows
        self.by = by
        self._slice = (offset, limit)
        self._read: tuple[int, int, list[dict[str, Any]]] | None = None
        self.total = 0
        self.days: list[dict[str, Any]] = []

    def count(self) -> int:
        self._rows(*self._slice)
        return self.total

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[dict[str, Any]]:
        offset = key.start or 0
        return self._rows(
            offset, (key.stop if key.stop is not None else offset) - offset
        )

    def _rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        if not self._has(offset, limit):
            rows, total, days = _grouped_slice(self.rows, self.by, offset, limit)
            if not rows and offset:  # beyond the last row: no window count
                _rows, total, days = _grouped_slice(self.rows, self.by, 0, 1)
            self._read, self.total, self.days = (offset, limit, rows), total, days
        assert self._read is not None
        return self._read[2][:limit]

    def _has(self, offset: int, limit: int) -> bool:
        """Whether the slice read holds ``limit`` rows from ``offset``: the
        paginator asks the last page for the rows left, fewer than a page."""
        if self._read is None:
            return False
        read_offset, read_limit, rows = self._read
        return offset == read_offset and (limit <= read_limit or len(rows) < read_limit)


def _grouped_slice(
    rows: QuerySet, by: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """``rows[offset:offset + limit]``, how many rows there are, and per day
    (grouped per day) the counted columns; one statement on the grouped
    query's SQL."""
    connection = connections[rows.db]
    name = connection.ops.quote_name
    columns = ["environment_id", "offer_code", *_GROUP_FIELDS[by], *FIGURES]
    selected = ", ".join(name(column) for column in columns)
    order = ", ".join(
        f"{name(field[1:])} DESC" if field.startswith("-") else name(field)
        for field in _ordering(by)
    )
    query, params = rows.order_by().query.sql_with_params()
    sql = (
        f"WITH grouped AS ({query}) "
        f"SELECT page.*, ROW_NUMBER() OVER (ORDER BY {order}) AS position FROM ("
        f"SELECT {selected}, COUNT(*) OVER () AS total FROM grouped "
        f"ORDER BY {order} LIMIT %s OFFSET %s) page"
    )
    params = (*params, limit, offset)
    if by == BY_DAY:
        sums = ", ".join(f"CAST(SUM({name(f)}) AS BIGINT)" for f in FIGURES)
        sql += (
            f" UNION ALL SELECT NULL, NULL, {name('day')}, {sums}, NULL, NULL "
            f"FROM grouped GROUP BY {name('day')}"
        )
    with transaction.atomic(using=rows.db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(sql, params)
        found = cursor.fetchall()
    page: list[tuple[int, dict[str, Any]]] = []
    by_day: dict[datetime.date, dict[str, Any]] = {}
    total = 0
    for *values, count, position in found:
        row = dict(zip(columns, values, strict=True))
        if by == BY_DAY:
            row["day"] = _date(row["day"])
        if position is None:
            by_day[row["day"]] = {"day": row["day"], **{f: row[f] for f in FIGURES}}
        else:
            page.append((position, row))
            total = count
    return (
        [row for _position, row in sorted(page, key=lambda item: item[0])],
        total,
        _every_day(by_day),
    )


def _date(value: Any) -> datetime.date:
    """A day as the database returns it (SQLite: ISO text)."""
    return (
        value
        if isinstance(value, datetime.date)
        else datetime.date.fromisoformat(value)
    )


def over_time(propositions: QuerySet) -> list[dict[str, Any]]:
    """The counted columns per day (one ``GROUP BY``), days without any
    proposition between the first and the last included as zeros."""
    # Not ordered in SQL: PostgreSQL has no statistics on the day expression,
    # guesses a group per row, and would sort every row (on disk, for a
    # million) instead of hashing a few hundred days; they are sorted below.
    rows = (
        propositions.order_by()
        .annotate(day=TruncDate("event_date"))
        .values("day")
        .annotate(**figures())
    )
    return _every_day({row["day"]: row for row in rows})


def _every_day(
    by_day: Mapping[datetime.date, dict[str, Any]],
) -> list[dict[str, Any]]:
    if not by_day:
        return []
    day, last = min(by_day), max(by_day)
    days = []
    while day <= last:
        days.append(by_day.get(day) or {"day": day, **dict.fromkeys(FIGURES, 0)})
        day += datetime.timedelta(days=1)
    return days


def totals(propositions: QuerySet) -> dict[str, Any]:
    """The counted columns over all ``propositions``, with their rates."""
    return with_rates(propositions.order_by().aggregate(**figures()))


def sum_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The counted columns added up over ``rows`` (e.g. :func:`over_time`'s
    days: the totals without another query), with their rates."""
    summed = dict.fromkeys(FIGURES, 0)
    for row in rows:
        for name in FIGURES:
            summed[name] += row[name]
    return with_rates(summed)


def with_rates(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with ``accepted_rate``, ``rejected_rate`` and ``presented_rate``."""
    row = dict(row)
    whole = row.get("propositions") or 0
    for name in ("presented", "accepted", "rejected"):
        row[f"{name}_rate"] = rate(row.get(name) or 0, whole)
    return row


def offer_labels(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], Offer]:
    """The offers of ``rows`` by (environment id, code), in one query; an
    offer deleted since is missing."""
    wanted: dict[int, set[str]] = {}
    for row in rows:
        wanted.setdefault(row["environment_id"], set()).add(row["offer_code"])
    if not wanted:
        return {}
    query = Q()
    for environment_id, codes in wanted.items():
        query |= Q(environment_id=environment_id, code__in=codes)
    return {
        (offer.environment_id, offer.code): offer
        for offer in Offer.objects.filter(query).only(
            "id", "environment_id", "code", "label", "live", "expired"
        )
    }


def environment_names() -> dict[int, tuple[str, str]]:
    """(code, label) per environment id."""
    return {
        pk: (code, label)
        for pk, code, label in Environment.objects.values_list("pk", "code", "label")
    }


def decorate(rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Offer analysis rows with rates, the offer (or ``None`` once deleted),
    its label and state, the environment's code (exports) and label (the
    page) and the space's or campaign's
    name, looked up a page of rows at a time (after grouping: the grouped
    query joins nothing); what a page looked up is kept for the next pages
    (an export of every offer and day meets the same offers on every page)."""
    environments = environment_names()
    offers: dict[tuple[int, str], tuple[Offer | None, str]] = {}
    spaces: dict[int, str] = {}
    campaigns: dict[int, str] = {}
    for page in _pages(rows, 500):
        _look_up_offers(offers, page)
        spaces.update(_names(OfferSpace, page, "space_id", "label", spaces))
        campaigns.update(_names(Page, page, "campaign_id", "title", campaigns))
        for row in page:
            offer, state = offers[(row["environment_id"], row["offer_code"])]
            decorated = with_rates(row)
            decorated["offer"] = offer
            decorated["offer_label"] = offer.label if offer else row["offer_code"]
            decorated["offer_state"] = state
            code, label = environments.get(row["environment_id"], ("", ""))
            decorated["environment"] = code
            decorated["environment_label"] = label
            if "space_id" in row:
                decorated["space"] = spaces.get(row["space_id"], "")
            if "campaign_id" in row:
                decorated["campaign"] = campaigns.get(row["campaign_id"], "")
            yield decorated


def _look_up_offers(
    offers: dict[tuple[int, str], tuple[Offer | None, str]],
    rows: list[Mapping[str, Any]],
) -> None:
    """Adds the offers of ``rows`` not in ``offers`` yet, with their state."""
    missing = [
        row for row in rows if (row["environment_id"], row["offer_code"]) not in offers
    ]
    found = offer_labels(missing)
    for row in missing:
        key = (row["environment_id"], row["offer_code"])
        offer = found.get(key)
        offers[key] = (offer, offer_state(offer))


def _names(
    model, rows: list[Mapping[str, Any]], key: str, field: str, known: Mapping
) -> dict:
    """The ``field`` of the ``key`` ids of ``rows`` not ``known`` yet."""
    ids = {row[key] for row in rows if row.get(key) is not None} - set(known)
    if not ids:
        return {}
    return dict(model._default_manager.filter(pk__in=ids).values_list("pk", field))


def offer_state(offer: Offer | None) -> str:
    if offer is None:
        return str(_("deleted"))
    if offer.expired:
        return str(_("expired"))
    return str(_("live")) if offer.live else str(_("not live"))


def _pages(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    page: list[Any] = []
    for row in rows:
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
