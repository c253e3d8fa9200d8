"""API keys checked without a query per call (issue 9): each process keeps the
keys it verified for ``INTERACTION_API_KEY_CACHE_SECONDS``; a revoked key stops
working at once in the process that revokes it, within the interval elsewhere;
unknown keys are never kept."""

import json
import secrets
import time
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interaction.models import ApiKey, Proposition
from interaction.models import api_key as api_key_module
from tests.builders import make_category, make_offer, make_space

PROPOSE = "/api/interaction/v1/propose"


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    settings.INTERACTION_VERSION_CHECK_SECONDS = 3600
    api_key_module.forget_verified_keys()


@pytest.fixture
def visitors(anonymous_environment):
    """An anonymous space with one offer: a call asks the database nothing
    once the catalogue is compiled, unless it stores."""
    space = make_space(anonymous_environment, "visitor-hero")
    make_offer(make_category(anonymous_environment, "promos"), spaces=[space])
    return space


def make_key(*environments):
    row = ApiKey(label="Partner CRM")
    key = row.issue()
    row.save()
    row.environments.set(environments)
    return row, key


def post(client, key, **call):
    return client.post(
        PROPOSE,
        data=json.dumps(call),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def statements(client, key, **call):
    """(status code, SQL statements) of one call with ``key``."""
    with CaptureQueriesContext(connection) as captured:
        response = post(client, key, **call)
    return response.status_code, [query["sql"] for query in captured.captured_queries]


def at(instant):
    """``time.monotonic`` reading ``instant``: the test's own clock, however
    slowly a loaded machine runs it."""
    return mock.patch("time.monotonic", return_value=instant)


def random_key():
    return f"wik_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def test_a_known_key_costs_no_query(client, anonymous_environment, visitors):
    row, key = make_key(anonymous_environment)
    assert post(client, key, space=visitors.code, store=False).status_code == 200

    status, sql = statements(client, key, space=visitors.code, store=False)

    assert status == 200
    assert sql == []  # nor any for the call: nothing stored, a visitor


def test_a_new_key_costs_one_query_with_its_environments(
    client, anonymous_environment, other_environment, visitors
):
    _row, key = make_key(anonymous_environment, other_environment)
    client.post(PROPOSE, {"space": visitors.code}, content_type="application/json")

    status, sql = statements(client, key, space=visitors.code, store=False)

    assert status == 200
    [read, used] = sql
    assert read.startswith("SELECT")
    assert '"interaction_apikey"' in read
    assert '"interaction_apikey_environments"' in read
    assert used.startswith('UPDATE "interaction_apikey" SET "last_used_at"')


def test_last_use_is_not_written_on_every_call(client, anonymous_environment, visitors):
    row, key = make_key(anonymous_environment)
    for _call in range(3):
        assert post(client, key, space=visitors.code, store=False).status_code == 200

    status, sql = statements(client, key, space=visitors.code, store=False)

    assert status == 200 and sql == []
    assert ApiKey.objects.get(pk=row.pk).last_used_at is not None


@pytest.mark.parametrize("change", ["revoke", "delete"])
def test_revoking_or_deleting_in_this_process_is_immediate(
    client, anonymous_environment, visitors, change
):
    row, key = make_key(anonymous_environment)
    assert post(client, key, space=visitors.code).status_code == 200

    if change == "revoke":
        row.revoke()
    else:
        row.delete()

    assert post(client, key, space=visitors.code).status_code == 401
    assert Proposition.objects.count() == 1


def test_changing_the_environments_in_this_process_is_immediate(
    client, anonymous_environment, other_environment, visitors
):
    row, key = make_key(anonymous_environment)
    assert post(client, key, space=visitors.code, store=False).status_code == 200

    row.environments.set([other_environment])

    response = post(client, key, space=visitors.code, store=False)
    assert response.status_code == 403
    assert "store" in response.json()["detail"]


def test_a_key_revoked_by_another_process_stops_within_the_interval(
    client, anonymous_environment, visitors, settings
):
    settings.INTERACTION_API_KEY_CACHE_SECONDS = 5
    row, key = make_key(anonymous_environment)
    before = time.monotonic()
    assert post(client, key, space=visitors.code).status_code == 200
    after = time.monotonic()

    # Another process revokes it: no signal reaches this one.
    ApiKey.objects.filter(pk=row.pk).update(revoked_at=timezone.now())

    with at(before + 4.5):  # at most 4.5 s after the key was read
        assert post(client, key, space=visitors.code).status_code == 200
    with at(after + 5.01):  # at least 5.01 s after
        response = post(client, key, space=visitors.code)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert post(client, key, space=visitors.code).status_code == 401
    assert Proposition.objects.count() == 2


def test_without_a_cache_every_call_reads_the_key(
    client, anonymous_environment, visitors, settings
):
    settings.INTERACTION_API_KEY_CACHE_SECONDS = 0
    row, key = make_key(anonymous_environment)
    assert post(client, key, space=visitors.code, store=False).status_code == 200

    status, sql = statements(client, key, space=visitors.code, store=False)
    assert status == 200 and len(sql) == 1

    ApiKey.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    assert post(client, key, space=visitors.code, store=False).status_code == 401


def test_random_keys_are_refused_and_not_kept(client, anonymous_environment, visitors):
    _row, key = make_key(anonymous_environment)
    assert post(client, key, space=visitors.code, store=False).status_code == 200
    assert len(api_key_module._verified) == 1

    for _attempt in range(50):
        assert post(client, random_key(), space=visitors.code).status_code == 401

    assert len(api_key_module._verified) == 1
    assert not Proposition.objects.exists()


def test_a_wrong_secret_for_a_known_prefix_is_refused_without_a_query(
    client, anonymous_environment, visitors
):
    _row, key = make_key(anonymous_environment)
    assert post(client, key, space=visitors.code, store=False).status_code == 200
    prefix = key[: len("wik_") + 8]
    forged = f"{prefix}_{secrets.token_urlsafe(32)}"
    last_character = "A" if key[-1] != "A" else "B"

    for wrong in (forged, key[:-1] + last_character):
        status, sql = statements(client, wrong, space=visitors.code, store=False)
        assert status == 401 and sql == []
    assert post(client, key, space=visitors.code, store=False).status_code == 200


def test_the_cache_is_bounded(anonymous_environment, monkeypatch):
    monkeypatch.setattr(api_key_module, "MAX_VERIFIED_KEYS", 3)
    keys = [make_key(anonymous_environment)[1] for _key in range(5)]

    for key in keys:
        assert ApiKey.authenticate(key) is not None

    assert len(api_key_module._verified) == 3
    # The oldest were dropped: read again (one query), still valid.
    with CaptureQueriesContext(connection) as captured:
        assert ApiKey.authenticate(keys[0]) is not None
    assert len(captured.captured_queries) == 1
