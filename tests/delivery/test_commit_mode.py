"""Storing commits without waiting for the disk (``INTERACTION_ASYNC_COMMIT``),
for that statement only, and only outside the caller's transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from interaction.delivery import storage
from interaction.models import Proposition
from tests.builders import ask, make_category, make_contact, make_offer, make_space

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def banner(environment):
    space = make_space(environment, "banner", max_offers=2)
    category = make_category(environment, "cards")
    for code in ("gold", "silver"):
        make_offer(category, code, spaces=[space])
    return space


def stored_by(space, contact):
    ask(space, contact)  # builds the snapshot
    with CaptureQueriesContext(connection) as captured:
        result = ask(space, contact, count=2, store=True)
    assert [p.id for p in result.propositions] == list(
        Proposition.objects.filter(contact_key=str(contact.pk))
        .order_by("rank")
        .values_list("pk", flat=True)
    )
    [statement] = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    return statement


def synchronous_commit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_call_stores_without_waiting_for_the_disk(banner):
    statement = stored_by(banner, make_contact())

    assert statement.startswith("SET LOCAL synchronous_commit TO OFF; INSERT INTO")
    # Only that statement: the connection still waits for the disk.
    assert synchronous_commit() == "on"


@override_settings(INTERACTION_ASYNC_COMMIT=False)
def test_the_setting_off_waits_for_the_disk(banner):
    assert stored_by(banner, make_contact()).startswith("INSERT INTO")


def test_inside_the_callers_transaction_the_commit_is_the_callers(banner):
    contact = make_contact()
    with transaction.atomic():
        statement = stored_by(banner, contact)
        assert synchronous_commit() == "on"

    assert statement.startswith("INSERT INTO")
    assert Proposition.objects.filter(contact_key=str(contact.pk)).count() == 2


class Psycopg3Cursor:
    """Answers a query of several statements as psycopg 3 does: the first
    statement's result first (``SET``: no rows, no description), then the
    next one's after ``nextset()``."""

    def __init__(self, rows):
        self.results = [None, rows]
        self.sent = []

    @property
    def description(self):
        return None if self.results[0] is None else [("id",)]

    def execute(self, sql, params):
        self.sent.append(sql)

    def nextset(self):
        self.results.pop(0)
        return True

    def fetchall(self):
        if self.results[0] is None:
            raise AssertionError("the last operation didn't produce records")
        return self.results[0]


def test_the_rows_stored_are_read_after_the_set_with_psycopg_3():
    """psycopg 3 (Django's driver when installed) gives the ``SET``'s result
    first: storing reads the statement's (its ids) after it."""
    cursor = Psycopg3Cursor([(7,), (8,)])

    assert storage._store(cursor, "INSERT … RETURNING id", []) == [(7,), (8,)]
    assert cursor.sent == [storage.ASYNC_COMMIT + "INSERT … RETURNING id"]
