"""Spreadsheet exports that return their rows, stream, and are formula-safe.

Wagtail's :class:`~wagtail.admin.views.mixins.SpreadsheetExportMixin` writes
the rows of ``list_export``; :class:`StreamingExportMixin` changes how:

- a queryset is read a chunk at a time (``iterator``), never held whole,
  so a CSV of a million rows streams from the database to the client;
- an XLSX is written to a temporary file (openpyxl's write-only workbook)
  and sent from it, not built in memory;
- a CSV text cell that a spreadsheet would read as a formula gets a ``'``
  first (CSV injection; XLSX cells are typed as text by Wagtail already).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.encoding import force_str
from django.utils.functional import cached_property

#: What starts a formula in a spreadsheet cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows read from the database per round trip while exporting.
CHUNK_SIZE = 2000
#: What ``force_str(value, strings_only=True)`` returns as it is (a bool is an int).
UNCHANGED_BY_FORCE_STR = (str, int, float, type(None))
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """``value``, with a ``'`` before it if it is text a spreadsheet would
    read as a formula (also the campaign runs' export)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _leaves_unchanged(function: Any, kind: type) -> bool:
    """Whether ``function`` is Wagtail's last resort,
    ``force_str(value, strings_only=True)``, on a type it returns as is."""
    return (
        isinstance(function, partial)
        and function.func is force_str
        and issubclass(kind, UNCHANGED_BY_FORCE_STR)
    )


class Rows:
    """Rows to export, read lazily; ``model`` is there for Wagtail's headings."""

    def __init__(self, rows: Iterable[Any], model: Any = None):
        self.rows = rows
        self.model = model if model is not None else getattr(rows, "model", None)

    def __iter__(self) -> Iterator[Any]:
        rows = self.rows
        if isinstance(rows, QuerySet):
            rows = rows.iterator(chunk_size=CHUNK_SIZE)
        return iter(rows)


class GroupedRows(Rows):
    """The rows of a grouped ``values()`` query, read without a server-side
    cursor: PostgreSQL never runs a cursor's query in parallel (the offer
    analysis per day over 1,000,000 propositions: 1.3 s through a cursor,
    0.9 s in parallel). The database's answer is one row per group, far
    fewer than the rows grouped; Python objects are still made a chunk at
    a time."""

    def __iter__(self) -> Iterator[Any]:
        rows: Any = self.rows  # a values() queryset
        return iter(
            rows._iterable_class(rows, chunked_fetch=False, chunk_size=CHUNK_SIZE)
        )


class StreamingExportMixin:
    """Mixed in before ``SpreadsheetExportMixin`` (or a view using it)."""

    FORMAT_CSV = "csv"

    def write_csv_response(self, queryset):
        return super().write_csv_response(Rows(queryset))  # type: ignore[misc]

    def write_xlsx_response(self, queryset):
        output = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        self.write_xlsx(Rows(queryset), output)  # type: ignore[attr-defined]
        output.seek(0)
        return FileResponse(
            output,
            as_attachment=True,
            content_type=XLSX_CONTENT_TYPE,
            filename=f"{self.get_filename()}.xlsx",  # type: ignore[attr-defined]
        )

    def preprocess_field_value(self, field, value, export_format):
        """Wagtail's, with its choice of function kept per field and type of
        value: Wagtail chooses it again for every cell (a dictionary look-up
        per field, an ``isinstance`` per value class), most of a large
        export's time."""
        key = (field, type(value), export_format)
        functions = self._preprocess_functions
        if key not in functions:
            choose = self.get_preprocess_function  # type: ignore[attr-defined]
            function = choose(field, value, export_format)
            if _leaves_unchanged(function, type(value)):
                function = None
            functions[key] = function
        function = functions[key]
        if function is not None:
            value = function(value)
        if export_format == self.FORMAT_CSV:
            return safe_cell(value)
        return value

    @cached_property
    def _preprocess_functions(self) -> dict[tuple[str, type, str], Any]:
        return {}
