"""The engine's read as a server-side prepared statement (PostgreSQL,
``INTERACTION_PREPARED_STATEMENTS``): planned once per connection, the same
rows as the plain SQL."""

import pytest
from django.db import connection, transaction
from django.db.models import BooleanField, CharField, Func
from django.test.utils import CaptureQueriesContext, override_settings

from interaction.delivery.prepared_query import PreparedQuery
from interaction.models import CapUsage, Offer, Proposition
from tests.builders import (
    NOW,
    ask,
    codes,
    make_category,
    make_contact,
    make_offer,
    make_rule,
    make_space,
    record,
)
from tests.testapp.models import Contact

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's"
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def persistent(monkeypatch):
    """Connections kept between requests (the tests' settings close them)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)


@pytest.fixture
def banner(environment):
    """Three offers; the contact was shown gold already, and a rule allows one."""
    make_rule(environment, "once", quantity=1)
    space = make_space(environment, "banner", max_offers=3)
    category = make_category(environment, "cards")
    for code in ("gold", "silver", "bronze"):
        make_offer(category, code, spaces=[space])
    return space


def read_statements(space, contact):
    with CaptureQueriesContext(connection) as captured:
        result = ask(space, contact, count=3)
    return codes(result), [query["sql"] for query in captured.captured_queries]


def test_the_read_is_prepared_once_per_connection(banner):
    contact = make_contact()
    record(Offer.objects.get(code="gold"), banner, contact, when=NOW)
    ask(banner, contact)  # builds the snapshot
    connection.close()  # a connection with nothing prepared yet

    first, first_sql = read_statements(banner, contact)
    second, second_sql = read_statements(banner, contact)

    assert sorted(first) == sorted(second) == ["bronze", "silver"]
    assert first_sql[0].startswith("PREPARE interaction_query_")
    assert first_sql[1].startswith("EXECUTE interaction_query_")
    assert len(second_sql) == 1
    assert second_sql[0].startswith("EXECUTE interaction_query_")

    # A new connection has no prepared statement: it prepares its own.
    connection.close()
    third, third_sql = read_statements(banner, contact)
    assert sorted(third) == ["bronze", "silver"]
    assert third_sql[0].startswith("PREPARE interaction_query_")


@override_settings(INTERACTION_PREPARED_STATEMENTS=False)
def test_the_setting_off_sends_the_sql(banner):
    contact = make_contact()
    ask(banner, contact)

    found, statements = read_statements(banner, contact)

    assert sorted(found) == ["bronze", "gold", "silver"]
    assert len(statements) == 1
    assert statements[0].startswith("SELECT")


def test_inside_a_transaction_nothing_is_prepared(banner):
    """A PREPARE refused there would abort the caller's transaction."""
    contact = make_contact()
    connection.close()  # a connection with nothing prepared yet
    with transaction.atomic():
        ask(banner, contact)
        found, statements = read_statements(banner, contact)

    assert sorted(found) == ["bronze", "gold", "silver"]
    assert not any(sql.startswith(("PREPARE", "EXECUTE")) for sql in statements)


def test_a_statement_postgresql_cannot_prepare_runs_as_sql(caplog):
    """``$1 IS NULL``: PostgreSQL cannot tell the parameter's type."""
    untyped = PreparedQuery.compile(
        lambda slot: Proposition.objects.filter(
            Func(
                slot("flag", CharField()),
                template="%(expressions)s IS NULL",
                output_field=BooleanField(),
            )
        ).values_list("id")
    ).server_side()

    assert untyped.rows(flag="x") == []
    assert "cannot prepare" in caplog.text
    # And from then on, without trying again.
    with CaptureQueriesContext(connection) as captured:
        assert untyped.rows(flag="y") == []
    assert captured.captured_queries[0]["sql"].startswith("SELECT")


def test_a_statement_the_connection_forgot_is_prepared_again(banner):
    """A pool may reset a connection's session (``DEALLOCATE ALL``)."""
    contact = make_contact()
    ask(banner, contact)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")

    found, statements = read_statements(banner, contact)

    assert sorted(found) == ["bronze", "gold", "silver"]
    # Refused ("does not exist"), prepared again, run.
    assert [sql.split(" ")[0] for sql in statements] == [
        "EXECUTE",
        "PREPARE",
        "EXECUTE",
    ]


def test_connections_closed_after_each_request_send_the_sql(banner, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    contact = make_contact()
    ask(banner, contact)

    found, statements = read_statements(banner, contact)

    assert sorted(found) == ["bronze", "gold", "silver"]
    assert [sql.split(" ")[0] for sql in statements] == ["SELECT"]


def test_a_statement_a_migration_made_stale_is_prepared_again(banner):
    """A column's type changed under a kept connection: PostgreSQL refuses to
    run the old plan ("cached plan must not change result type")."""
    contact = make_contact()
    ask(banner, contact)
    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "age" TYPE bigint')
    try:
        found, statements = read_statements(banner, contact)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "age" TYPE smallint')

    assert sorted(found) == ["bronze", "gold", "silver"]
    # Refused, let go, prepared again, run.
    assert [sql.split(" ")[0] for sql in statements] == [
        "EXECUTE",
        "DEALLOCATE",
        "PREPARE",
        "EXECUTE",
    ]


@pytest.mark.parametrize("capped", [False, True])
def test_a_store_is_prepared_too(environment, banner, capped):
    """The INSERT (or, under a global cap, the take-and-insert), after the
    commit mode, in one query."""
    if capped:
        make_rule(environment, "budget", global_capping=True, quantity=1000)
    first, second = make_contact(), make_contact()
    ask(banner, first)
    connection.close()

    stored = []
    for contact in (first, second):
        with CaptureQueriesContext(connection) as captured:
            result = ask(banner, contact, count=3, store=True)
        stored.append(codes(result))
        statements = [query["sql"] for query in captured.captured_queries]

    # The second call: the read and the store, both executed.
    assert [sql.split(" ")[0] for sql in statements] == ["EXECUTE", "SET"]
    assert statements[1].startswith(
        "SET LOCAL synchronous_commit TO OFF; EXECUTE interaction_query_"
    )
    assert sorted(stored[1]) == ["bronze", "gold", "silver"]
    assert Proposition.objects.filter(contact_key=str(second.pk)).count() == 3
    if capped:
        assert sum(CapUsage.objects.values_list("used", flat=True)) == 6
