"""The SVG charts: offline, escaped, with a data table under each."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.utils import translation

from interaction import charts


def render(source, **context):
    return Template("{% load interaction_charts %}" + source).render(Context(context))


def test_bar_chart_draws_one_bar_per_row_and_tables_every_value():
    rows = [
        {"offer": "Gold card", "accepted": 12},
        {"offer": "Silver card", "accepted": 3},
    ]
    html = render(
        '{% bar_chart rows "offer" "accepted" title="Accepted per offer" '
        'value_label="Accepted" %}',
        rows=rows,
    )
    assert html.count("<rect ") == 2
    assert 'role="img"' in html
    assert "<figcaption" in html and "Accepted per offer" in html
    assert '<th scope="row">Gold card</th><td>12</td>' in html
    assert '<th scope="row">Silver card</th><td>3</td>' in html
    assert "highest: Gold card, 12." in html
    # Nothing loaded from elsewhere: no script, no external reference.
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in html


def test_bar_lengths_are_proportional_to_values():
    chart = charts.bar_chart(
        [{"k": "a", "v": 10}, {"k": "b", "v": 5}, {"k": "c", "v": 0}], "k", "v"
    )
    a, b, c = (bar.width for bar in chart.bars)
    assert a == pytest.approx(2 * b)
    assert c == 0


def test_the_longest_bar_leaves_room_for_its_value():
    # Found in the demo: a simulation's 1,000 propositions read "1,0", the
    # value written after a bar the whole plot wide ran out of the drawing.
    chart = charts.bar_chart(
        [{"k": "Car insurance", "v": 1000}, {"k": "Home insurance", "v": 41}], "k", "v"
    )
    widest = chart.bars[0]
    assert widest.text == "1,000"
    assert widest.value_x + len(widest.text) * 7.5 <= chart.width


def test_labels_are_escaped():
    html = render(
        '{% bar_chart rows "label" "n" title=title %}',
        rows=[{"label": "<script>alert(1)</script>", "n": 1}],
        title="<b>x</b>",
    )
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_line_chart_has_one_line_per_series_and_a_row_per_point():
    rows = [
        {"day": datetime.date(2026, 11, 1), "propositions": 10, "accepted": 2},
        {"day": datetime.date(2026, 11, 2), "propositions": 20, "accepted": 5},
        {"day": datetime.date(2026, 11, 3), "propositions": 15, "accepted": None},
    ]
    html = render(
        '{% line_chart rows "day" "propositions,accepted" title="Over time" '
        'labels="Propositions,Accepted" %}',
        rows=rows,
    )
    assert html.count("<polyline ") == 2
    assert "stroke-dasharray" in html  # the second series differs by more than colour
    body = re.sub(r"\s+", " ", html)
    assert '<th scope="row">2026-11-02</th><td>20</td><td>5</td>' in body, (
        "each point is a row of the data table"
    )
    assert '<th scope="row">2026-11-03</th><td>15</td><td>0</td>' in body
    assert '<th scope="col">Accepted</th>' in body


def test_line_chart_accepts_objects_lists_and_decimals():
    class Row:
        def __init__(self, x, y):
            self.x, self.y = x, y

    chart = charts.line_chart([Row("a", Decimal("1.5")), Row("b", 3)], "x", ["y"])
    assert [s.texts for s in chart.series] == [["1.5", "3"]]
    assert chart.series[0].points[1][1] < chart.series[0].points[0][1]


def test_empty_charts_say_so():
    assert "No data." in render('{% bar_chart rows "a" "b" %}', rows=[])
    assert "No data." in render('{% line_chart rows "a" "b" %}', rows=[])


def test_mismatched_labels_are_refused():
    with pytest.raises(ValueError, match="2 value keys but 1 labels"):
        charts.line_chart([], "x", "a,b", labels="A")


def test_a_value_that_is_not_a_number_is_refused():
    with pytest.raises(TypeError):
        charts.bar_chart([{"k": "a", "v": "ten"}], "k", "v")


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0, 1]),
        (7, [0, 2, 4, 6, 8]),
        (100, [0, 50, 100]),
        (90, [0, 50, 100]),
        (0.4, [0, 0.1, 0.2, 0.3, 0.4]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_axis_ticks_are_round(top, ticks):
    assert charts.nice_scale(top) == ticks


def test_values_are_grouped_in_the_active_language_as_the_admin_tables():
    assert [charts.format_number(v) for v in (1498, 12.5, 1 / 3, 0)] == [
        "1,498",
        "12.5",
        "0.33",
        "0",
    ]
    with translation.override("fr"):
        french = charts.format_number(1498)
        assert french == intcomma(1498) != "1,498"
        assert charts.format_number(12.5) == "12,5"
