"""``{% load interaction_charts %}``: offline SVG charts with their data table.

``{% bar_chart rows label_key value_key title="…" value_label="…" %}`` and
``{% line_chart rows x_key value_keys title="…" labels="…" %}``; see
:mod:`interaction.charts` for the interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import template
from django.utils.safestring import SafeString

from .. import charts

register = template.Library()


@register.simple_tag
def bar_chart(
    rows: Iterable[Any],
    label_key: str,
    value_key: str,
    title: str = "",
    value_label: str = "",
    label_heading: str = "",
) -> SafeString:
    """A horizontal bar per row, with its data table."""
    return charts.render(
        charts.bar_chart(
            rows,
            label_key,
            value_key,
            title=title,
            value_label=value_label,
            label_heading=label_heading,
        )
    )


@register.simple_tag
def line_chart(
    rows: Iterable[Any],
    x_key: str,
    value_keys: str | Sequence[str],
    title: str = "",
    labels: str | Sequence[str] = "",
    x_heading: str = "",
) -> SafeString:
    """One line per value key over ``x_key``, with its data table."""
    return charts.render(
        charts.line_chart(
            rows, x_key, value_keys, title=title, labels=labels, x_heading=x_heading
        )
    )
