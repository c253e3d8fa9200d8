"""PostgreSQL plans the reports' per-day grouping from statistics on the day
(migration 0014): a few groups, not one per proposition."""

import datetime
import json

import pytest
from django.db import connection

from interaction.models import Proposition
from interaction.reports import queries

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL statistics"
    ),
]

#: Propositions a minute apart over three days.
ROWS = 3 * 24 * 60
START = datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC)


def estimated_groups(queryset) -> int:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]["Plan Rows"]


def test_the_days_are_estimated_from_statistics(space, offer):
    Proposition.objects.bulk_create(
        Proposition(
            environment_id=space.environment_id,
            offer=offer,
            offer_code=offer.code,
            space=space,
            channel="web",
            contact_key=str(n),
            rank=1,
            weight=1.0,
            event_date=START + datetime.timedelta(minutes=n),
        )
        for n in range(ROWS)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE interaction_proposition")
    per_day = Proposition.objects.order_by().annotate(
        day=queries.TruncDate("event_date")
    )
    assert estimated_groups(per_day.values("day").annotate(**queries.figures())) < 10
    per_offer_and_day = queries.offer_analysis(
        Proposition.objects.all(), queries.BY_DAY
    ).order_by()
    assert estimated_groups(per_offer_and_day) < 10
