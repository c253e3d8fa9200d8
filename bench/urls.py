"""The demo's URLs plus the benchmark's floor views (ROOT_URLCONF while benchmarking).

Each floor is the cheapest useful Django JSON endpoint for what it is compared
with, through the same middleware, parsing the same JSON body as the propose
API:

- ``/bench/floor`` runs one indexed query on the proposition table (the
  contact's recent propositions, first 10 ids) and returns JSON;
- ``/bench/floor-insert`` inserts ``count`` proposition rows, filled as the
  engine fills them, with ONE ``INSERT … RETURNING id`` in autocommit
  (committed as the plugin commits its own, see ``INTERACTION_ASYNC_COMMIT``)
  and returns their ids;
- ``/bench/floor-read-insert`` first reads what an identified call needs to
  read (the contact's row by primary key, with how many propositions it had
  in the last 30 days, one SQL query), then inserts as ``floor-insert`` does:
  the two round trips a stored call of the engine makes, without the engine.

``FLOOR_ENVIRONMENT_ID`` and ``FLOOR_SPACES`` are set by the bench scripts
before the first request.
"""

import datetime
import json
import uuid

from demo.urls import urlpatterns as demo_urlpatterns
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from interaction.delivery.storage import commit_mode
from interaction.models import Proposition

from .common import FLOOR_CONTACT_PREFIX

FLOOR_PATH = "/bench/floor"
FLOOR_INSERT_PATH = "/bench/floor-insert"
FLOOR_READ_INSERT_PATH = "/bench/floor-read-insert"
FLOOR_ENVIRONMENT_ID = None
#: Space code -> (space id, environment id, channel, initial status,
#: [(offer id, offer code, category id), ...] of the space's live offers).
FLOOR_SPACES: dict = {}


@csrf_exempt
def floor(request):
    body = json.loads(request.body)
    since = timezone.now() - datetime.timedelta(days=30)
    ids = [
        row[0]
        for row in Proposition.objects.filter(
            environment_id=FLOOR_ENVIRONMENT_ID,
            contact_key=str(body["contact"]),
            event_date__gte=since,
        ).values_list("id")[:10]
    ]
    return JsonResponse({"ids": ids})


_insert_sql = {}


def _insert_statement(rows):
    """``INSERT INTO … VALUES (…), … RETURNING id`` for ``rows`` rows, and the
    concrete fields it fills (built from the model, so a field added to the
    table is filled with its default)."""
    if rows not in _insert_sql:
        fields = [f for f in Proposition._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        values = "(" + ", ".join(["%s"] * len(fields)) + ")"
        _insert_sql[rows] = (
            fields,
            f"INSERT INTO {Proposition._meta.db_table} ({columns}) VALUES "
            + ", ".join([values] * rows)
            + " RETURNING id",
        )
    return _insert_sql[rows]


@csrf_exempt
def floor_insert(request):
    return JsonResponse({"ids": _insert(json.loads(request.body))})


_READ_SQL = (
    "SELECT c.*, (SELECT count(*) FROM interaction_proposition p "
    "WHERE p.environment_id = %s AND p.contact_key = %s AND p.event_date >= %s) "
    "FROM home_contact c WHERE c.id = %s"
)


@csrf_exempt
def floor_read_insert(request):
    body = json.loads(request.body)
    contact = str(body.get("contact", ""))
    since = timezone.now() - datetime.timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute(_READ_SQL, [FLOOR_ENVIRONMENT_ID, contact, since, int(contact)])
        cursor.fetchall()
    return JsonResponse({"ids": _insert(body)})


def _insert(body) -> list[int]:
    """Insert the floor's rows for ``body`` (one statement): their ids."""
    space_id, environment_id, channel, status, offers = FLOOR_SPACES[body["space"]]
    count = int(body.get("count", 1))
    start = int(body.get("seed") or 0)
    chosen = [offers[(start + k) % len(offers)] for k in range(count)]
    now = timezone.now()
    known = {
        "interaction_id": uuid.uuid4(),
        "environment_id": environment_id,
        "space_id": space_id,
        "channel": channel,
        "contact_key": FLOOR_CONTACT_PREFIX + str(body.get("contact", "")),
        "visitor_id": "",
        "campaign_id": None,
        "status": status,
        "event_date": now,
        "last_modified": now,
    }
    fields, sql = _insert_statement(len(chosen))
    params = []
    for rank, (offer_id, code, category_id) in enumerate(chosen, start=1):
        row = dict(
            known,
            offer_id=offer_id,
            offer_code=code,
            category_id=category_id,
            rank=rank,
            weight=float(10 + rank),
        )
        for field in fields:
            value = row[field.attname] if field.attname in row else field.get_default()
            params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        # Committed as the plugin commits what it stores (INTERACTION_ASYNC_COMMIT).
        cursor.execute(commit_mode() + sql, params)
        return [row[0] for row in cursor.fetchall()]


urlpatterns = [
    path(FLOOR_PATH.lstrip("/"), floor),
    path(FLOOR_INSERT_PATH.lstrip("/"), floor_insert),
    path(FLOOR_READ_INSERT_PATH.lstrip("/"), floor_read_insert),
] + demo_urlpatterns
