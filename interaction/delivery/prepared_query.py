"""Querysets compiled to SQL once, then run many times with new values.

Building and compiling a small queryset costs about 0.4 ms of Python, more than
the indexed query itself takes in PostgreSQL. The engine's readers run on every
page that shows offers, so they compile their querysets once per process and
only bind values on each call. Django still writes the SQL (quoting, joins,
the database's dialect) and converts the results (``from_db_value`` and the
backend's converters), so rows are what ``values_list()`` would return.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import weakref
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connections
from django.db.models import Field, QuerySet
from django.db.models.expressions import RawSQL

from .. import conf

logger = logging.getLogger(__name__)

#: Names the statements prepared by this process, by their SQL.
_numbers = itertools.count(1)
_names: dict[str, str] = {}
#: The SQL PostgreSQL refused to prepare: sent as SQL from then on.
_refused: set[str] = set()
#: The statements prepared on each open database connection (the driver's):
#: a connection opened again has none.
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%s|%%")


def _json_list(value, _expression, _connection):
    return None if value is None else json.loads(value)


def _persistent(connection) -> bool:
    """Whether ``connection`` outlives a request (``CONN_MAX_AGE`` not 0, or
    a connection pool): a statement prepared on a connection closed after
    each request would cost a round trip and save nothing."""
    settings = connection.settings_dict
    return settings.get("CONN_MAX_AGE", 0) != 0 or bool(
        settings.get("OPTIONS", {}).get("pool")
    )


class _Marker:
    """Stands for a slot's value in the compiled parameters."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Slot(RawSQL):
    """A value bound per call: never a column to group by (a HAVING over a
    slot would otherwise repeat it in the GROUP BY)."""

    def get_group_by_cols(self):
        return []


class PreparedQuery:
    """SQL with values bound per call, and the converters of its columns.

    Made by :meth:`compile` from a queryset, or by :meth:`side_by_side` from
    two prepared queries.
    """

    def __init__(self, alias, sql, params, slots, converters, width):
        self.alias = alias
        self.sql = sql
        #: Whether it runs as a server-side prepared statement (:meth:`server_side`).
        self.prepared = False
        self.params = params
        #: (parameter index, slot name, field preparing the value)
        self.slots = slots
        #: (column index, (converters, expression)), as the ORM applies them
        self.converters = converters
        #: The number of columns of a row.
        self.width = width

    @classmethod
    def compile(
        cls, build: Callable[[Callable[[str, Field], RawSQL]], QuerySet]
    ) -> PreparedQuery:
        """``build(slot)`` returns a ``values_list()`` queryset whose varying
        values are ``slot(name, field)``.

        Values are prepared for the database by the slot's field, as a lookup
        would: a value the field rejects raises ``ValueError``, ``TypeError`` or
        ``ValidationError``, before any query.
        """
        fields: dict[str, Field] = {}

        def slot(name: str, field: Field) -> RawSQL:
            fields[name] = field
            return _Slot("%s", (_Marker(name),), output_field=field)

        queryset = build(slot)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        slots = [
            (index, param.name, fields[param.name])
            for index, param in enumerate(params)
            if isinstance(param, _Marker)
        ]
        if sorted(name for _index, name, _field in slots) != sorted(fields):
            raise ValueError("Every slot must appear once in the query's SQL.")
        columns = [column for column, _sql, _alias in compiler.select]
        columns = columns[: compiler.col_count]
        converters = list(compiler.get_converters(columns).items())
        return cls(queryset.db, sql, list(params), slots, converters, len(columns))

    @classmethod
    def side_by_side(cls, first: PreparedQuery, second: PreparedQuery) -> PreparedQuery:
        """Each row of ``first`` followed by each row of ``second`` (or by
        ``NULL`` columns when ``second`` has none), in one round trip.

        Slot names must differ between the two queries.
        """
        return cls._combine(
            first,
            second,
            "LEFT JOIN ({second}) second_rows ON 1 = 1",
            first.converters
            + [
                (position + first.width, converter)
                for position, converter in second.converters
            ],
            first.width + second.width,
        )

    @classmethod
    def left_join(
        cls, first: PreparedQuery, second: PreparedQuery, on: str, lateral=False
    ) -> PreparedQuery:
        """Each row of ``first`` followed by each row of ``second`` that matches
        it (``on``, over ``first_rows.<column>`` and ``second_rows.<column>``),
        or by ``NULL`` columns when none does, in one round trip. ``lateral``
        (PostgreSQL): ``second`` may read ``first_rows.<column>``, and is run
        for each row of ``first``."""
        join = "LEFT JOIN LATERAL" if lateral else "LEFT JOIN"
        return cls._combine(
            first,
            second,
            f"{join} ({{second}}) second_rows ON {on}",
            first.converters
            + [
                (position + first.width, converter)
                for position, converter in second.converters
            ],
            first.width + second.width,
        )

    @classmethod
    def union_all(
        cls, first: PreparedQuery, second: PreparedQuery, *, if_first_empty=False
    ) -> PreparedQuery:
        """The rows of ``first`` then those of ``second``, in one statement;
        ``if_first_empty``: those of ``second`` only if ``first`` has none
        (``second`` is not run otherwise: on PostgreSQL, a one-time filter).

        Both have the same number of columns, converted alike (``first``'s
        converters apply to every row); slot names must differ.
        """
        if first.width != second.width:
            raise ValueError("Both queries must have the same columns.")
        return cls._combine(
            first,
            second,
            "UNION ALL SELECT * FROM ({second}) second_rows",
            first.converters,
            first.width,
            sql=f"WITH first_rows AS ({first.sql}) SELECT * FROM first_rows "
            f"UNION ALL SELECT * FROM ({second.sql}) second_rows "
            "WHERE NOT EXISTS (SELECT 1 FROM first_rows)"
            if if_first_empty
            else None,
        )

    @classmethod
    def _combine(
        cls, first, second, joined, converters, width, sql=None
    ) -> PreparedQuery:
        """``SELECT * FROM (first) first_rows <joined>``, ``joined`` holding
        ``{second}``, with the slots of both (``sql``: that SQL instead, its
        parameters those of ``first`` then ``second``)."""
        if first.alias != second.alias:
            raise ValueError("Both queries must use the same database.")
        names = [name for _index, name, _field in first.slots + second.slots]
        if len(set(names)) != len(names):
            raise ValueError("The two queries share a slot name.")
        offset = len(first.params)
        return cls(
            first.alias,
            sql
            or f"SELECT * FROM ({first.sql}) first_rows "
            + joined.format(second=second.sql),
            first.params + second.params,
            first.slots
            + [(index + offset, name, field) for index, name, field in second.slots],
            converters,
            width,
        )

    def counted(self, limit: str, at_least: str, field: Field) -> PreparedQuery:
        """Each distinct row among the first ``limit`` rows of this query,
        followed by how many times it occurs, if that count reaches
        ``at_least`` (``limit`` and ``at_least``: new slots, integers prepared
        by ``field``): a count that stops at ``limit`` rows, however many the
        query selects."""
        if {limit, at_least} & {name for _index, name, _field in self.slots}:
            raise ValueError("The query has a slot of that name already.")
        offset = len(self.params)
        return PreparedQuery(
            self.alias,
            f"SELECT bounded_rows.*, COUNT(*) FROM (SELECT * FROM ({self.sql}) "
            "limited_rows LIMIT %s) bounded_rows "
            f"GROUP BY {', '.join(str(n + 1) for n in range(self.width))} "
            "HAVING COUNT(*) >= %s",
            [*self.params, _Marker(limit), _Marker(at_least)],
            [*self.slots, (offset, limit, field), (offset + 1, at_least, field)],
            self.converters,
            self.width + 1,
        )

    def collected(self) -> PreparedQuery:
        """One row per value of the first column, each other column holding
        the values of that value's rows as a list (the lists in one order):
        a query of many narrow rows sent as a few, and converted as a few.

        PostgreSQL collects into arrays, SQLite into JSON arrays (decoded
        here); the other columns' converters are not applied.
        """
        vendor = connections[self.alias].vendor
        collect = "array_agg({})" if vendor == "postgresql" else "json_group_array({})"
        names = [f"c{index}" for index in range(self.width)]
        lists = ", ".join(collect.format(name) for name in names[1:])
        converters = [item for item in self.converters if item[0] == 0]
        if vendor != "postgresql":
            converters += [
                (position, ([_json_list], None)) for position in range(1, self.width)
            ]
        return PreparedQuery(
            self.alias,
            f"WITH collected({', '.join(names)}) AS ({self.sql}) "
            f"SELECT c0, {lists} FROM collected GROUP BY c0",
            self.params,
            self.slots,
            converters,
            self.width,
        )

    def server_side(self) -> PreparedQuery:
        """This query, run as a statement prepared once per database
        connection on PostgreSQL (:func:`.conf.prepared_statements`): for a
        query kept and run many times, whose planning costs more than its
        run. A query run once (a batch chunk's) is better sent as SQL."""
        self.prepared = True
        return self

    def rows(self, **values: Any) -> list:
        """The rows for ``values`` (one per slot), converted as the ORM would."""
        connection = connections[self.alias]
        params = list(self.params)
        for index, name, field in self.slots:
            params[index] = field.get_db_prep_value(
                field.get_prep_value(values[name]), connection, prepared=True
            )
        with connection.cursor() as cursor:
            execute(connection, cursor, self.sql, params, prepare=self.prepared)
            rows = cursor.fetchall()
        if not self.converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for position, (converters, expression) in self.converters:
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
            converted.append(row)
        return converted


def execute(
    connection, cursor, sql: str, params: list, *, prepare=True, prefix: str = ""
) -> None:
    """Run ``sql`` with ``params`` on ``cursor``: as ``EXECUTE`` of a statement
    prepared once per database connection where it applies (``prepare``,
    PostgreSQL, :func:`.conf.prepared_statements`, a persistent connection),
    else as SQL. ``prefix``: statements sent before it in the same query (one
    round trip); the rows read are then ``sql``'s.

    A statement is only prepared outside a transaction: a ``PREPARE``
    PostgreSQL refuses (a parameter whose type it cannot infer) would abort
    the caller's transaction. Once prepared, it is used inside transactions
    too (prepared statements outlive a rollback).
    """
    sent, values = _statement(connection, cursor, sql, params, prepare)
    try:
        cursor.execute(prefix + sent, values)
    except DatabaseError as error:
        if not _stale(connection, cursor, sent, error):
            raise
        sent, values = _statement(connection, cursor, sql, params, prepare)
        cursor.execute(prefix + sent, values)
    if prefix and cursor.description is None:
        # psycopg 3 answers a query of several statements with the first
        # one's result (psycopg 2 with the last one's).
        cursor.nextset()


def _statement(connection, cursor, sql: str, params: list, prepare: bool):
    """What to send: ``EXECUTE`` of ``sql`` prepared on this connection
    (prepared first if need be), or ``sql`` itself."""
    if (
        not prepare
        or sql in _refused
        or connection.vendor != "postgresql"
        or not conf.prepared_statements()
        or not _persistent(connection)
    ):
        return sql, params
    name = _names.get(sql)
    if name is None:
        name = _names.setdefault(sql, f"interaction_query_{next(_numbers)}")
    prepared = _prepared.setdefault(connection.connection, set())
    if name not in prepared:
        if not connection.get_autocommit():
            return sql, params
        numbers = itertools.count(1)
        text = _PLACEHOLDER.sub(
            lambda match: "%" if match[0] == "%%" else f"${next(numbers)}", sql
        )
        try:
            cursor.execute(f"PREPARE {name} AS {text}")
        except DatabaseError:
            logger.warning(
                "PostgreSQL cannot prepare %s: it runs as plain SQL",
                name,
                exc_info=True,
            )
            _refused.add(sql)
            return sql, params
        prepared.add(name)
    if not params:
        return f"EXECUTE {name}", params
    return f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params


def _stale(connection, cursor, sent: str, error: DatabaseError) -> bool:
    """Whether ``error`` says the prepared statement ``sent`` ran is gone (a
    pool reset the session: ``DEALLOCATE ALL``) or no longer fits the tables
    (a migration changed the columns it returns), so it may be prepared
    again: only outside a transaction, which the error did not abort."""
    if not sent.startswith("EXECUTE ") or not connection.get_autocommit():
        return False
    cause = error.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    name = sent.split(" ", 2)[1]
    if code == "0A000" and "cached plan" in str(cause):
        cursor.execute(f"DEALLOCATE {name}")
        _prepared.get(connection.connection, set()).discard(name)
        return True
    if code == "26000":
        _prepared.pop(connection.connection, None)
        return True
    return False
