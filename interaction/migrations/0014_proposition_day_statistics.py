"""PostgreSQL statistics on the propositions' day, for the reports.

The offer analysis groups propositions per day in the site's time zone
(``TruncDate``: ``(event_date AT TIME ZONE '<zone>')::date``). Without
statistics on that expression PostgreSQL takes its number of values from
``event_date``'s, one per row: it plans a million groups for 60 days, so no
parallel workers and a hash spilled to disk. Extended statistics (no cost
on inserts, gathered by ``ANALYZE``) tell it the days (and, with the
environment and offer code, the groups per offer and day).

They are made for ``TIME_ZONE`` as it is when migrating: a report read in
another zone (an admin user's own time zone) is planned without them, as
before, and its figures are the same.
"""

from django.conf import settings
from django.db import migrations

TABLE = "interaction_proposition"
DAY = "interaction_prop_day_stats"
OFFER_DAY = "interaction_prop_offer_day_stats"


def _day(schema_editor) -> str:
    if not settings.USE_TZ:
        return '("event_date")::date'
    zone = schema_editor.quote_value(settings.TIME_ZONE)
    return f'(("event_date" AT TIME ZONE {zone}))::date'


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    day = _day(schema_editor)
    schema_editor.execute(f"CREATE STATISTICS {DAY} ON ({day}) FROM {TABLE}")
    schema_editor.execute(
        f"CREATE STATISTICS {OFFER_DAY} (ndistinct) "
        f'ON "environment_id", "offer_code", ({day}) FROM {TABLE}'
    )
    schema_editor.execute(f"ANALYZE {TABLE}")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {DAY}, {OFFER_DAY}")


class Migration(migrations.Migration):
    dependencies = [("interaction", "0013_condition_help_texts")]

    operations = [migrations.RunPython(create_statistics, drop_statistics)]
