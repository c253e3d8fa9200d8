"""Issue 8, point 8 (and the request side of point 4): every input bounded at
the edge, every error a JSON body with a status the OpenAPI schema documents.

Replays the inputs that gave 500s, HTML pages or a failed batch: dates with
impossible offsets or near year 1 and 9999, long or binary visitor ids, a
10 MB body, JSON nested 1,000 deep, ``NaN``/``1e309``, a database outage.
"""

import json
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError

from interaction.models import Proposition
from tests.builders import make_category, make_offer, make_space

API = "/api/interaction/v1/"
PROPOSE = API + "propose"
BATCH = API + "propose/batch"


@pytest.fixture(scope="module")
def documented():
    """``documented(path, method)``: the statuses the schema lists for it."""
    from interaction.api import api

    schema = api.get_openapi_schema()

    def statuses(path, method):
        template = path
        if path.startswith(API + "propositions/"):
            template = API + "propositions/{id}/status"
        elif path.startswith(API + "t/"):
            template = API + "t/{signed}"
        return {int(code) for code in schema["paths"][template][method]["responses"]}

    return statuses


def send(client, body, url=PROPOSE, **headers):
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    return client.post(url, data=body, content_type="application/json", headers=headers)


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def assert_field_refused(response, field):
    body = assert_json_error(response, 422)
    # A union's errors name the member after the field.
    assert any(field in error["loc"] for error in body["detail"]), body


@pytest.fixture
def call(space, offer, contact):
    """A valid call of a live space that proposes an offer."""
    return {"space": space.code, "contact": contact.pk}


# --- Dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "date",
    [
        "2030-01-01T00:00:00+20:00",
        "2030-01-01T00:00:00-14:30",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        0,
    ],
)
def test_dates_out_of_range_are_422(admin_client, call, date):
    # Refused even for a trusted caller (here a staff session).
    assert_field_refused(send(admin_client, {**call, "date": date}), "date")
    assert not Proposition.objects.exists()


@pytest.mark.parametrize(
    ("date", "stored"),
    [
        ("2030-06-01T12:00:00+14:00", "2030-05-31T22:00:00+00:00"),
        ("2030-06-01T12:00:00-14:00", "2030-06-02T02:00:00+00:00"),
        ("2030-06-01T12:00:00", "2030-06-01T12:00:00+00:00"),
        ("2000-01-01T00:00:00Z", "2000-01-01T00:00:00+00:00"),
    ],
)
def test_dates_are_normalised_to_utc(admin_client, call, date, stored):
    response = send(admin_client, {**call, "date": date})

    assert response.status_code == 200, response.content
    row = Proposition.objects.get(pk=response.json()["propositions"][0]["id"])
    assert row.event_date.isoformat() == stored


def test_a_bad_date_in_a_batch_is_422_naming_the_call(admin_client, call):
    response = send(
        admin_client, {"calls": [call, {**call, "date": "0001-01-01"}]}, BATCH
    )

    body = assert_json_error(response, 422)
    assert body["detail"][0]["loc"][-3:] == ["calls", 1, "date"]


# --- Visitor and contact ids ------------------------------------------------


@pytest.mark.parametrize(
    "visitor", ["v" * 65, "v\x00", "a b", "v/1", "é", "<script>", 2**63, -(2**63)]
)
def test_bad_visitor_ids_are_422(client, call, visitor):
    assert_field_refused(send(client, {**call, "visitor": visitor}), "visitor")


@pytest.mark.parametrize(
    "visitor", ["0123456789abcdef0123456789abcdef", "v" * 64, "a.b:c-d_e", 42, ""]
)
def test_visitor_ids_the_client_and_cookie_send_are_taken(
    client, visitor_space, visitor
):
    response = send(client, {"space": visitor_space.code, "visitor": visitor})

    assert response.status_code == 200, response.content


@pytest.fixture
def visitor_space(anonymous_environment):
    space = make_space(anonymous_environment, "visitor-banner")
    make_offer(make_category(anonymous_environment, "welcome"), "hi", spaces=[space])
    return space


@pytest.mark.parametrize("contact_id", ["c" * 256, "ada\x00", 2**63, -(2**63)])
def test_bad_contact_ids_are_422(client, call, contact_id):
    assert_field_refused(send(client, {**call, "contact": contact_id}), "contact")


@pytest.mark.parametrize(
    "contact_id", ["9" * 255, str(2**63), "-1", "1|2", "' OR 1=1 --", "ада"]
)
def test_odd_contact_ids_find_no_contact(client, call, contact_id):
    response = send(client, {**call, "contact": contact_id})

    assert response.status_code == 200, response.content
    assert response.json()["identified"] is False


def test_seed_out_of_range_is_422(client, call):
    assert_field_refused(send(client, {**call, "seed": 2**64}), "seed")


# --- Bodies -----------------------------------------------------------------


@pytest.mark.parametrize("size", [10 * 1024 * 1024, 64 * 1024 + 1])
def test_a_large_body_is_413_json(client, call, documented, size):
    padding = "x" * (size - len(json.dumps(call)) - 20)
    body = json.dumps({**call, "context": {"p": padding}})
    assert len(body) >= size - 30

    response = send(client, body)

    assert "detail" in assert_json_error(response, 413)
    assert 413 in documented(PROPOSE, "post")


def test_a_body_just_under_the_limit_is_read(client, call):
    body = json.dumps({**call, "context": {"p": "x" * (60 * 1024)}})

    assert send(client, body).status_code == 200


@pytest.mark.parametrize("depth", [1000, 30_000, 33])
def test_deeply_nested_json_is_422_json(client, call, depth):
    nested = "[" * depth + "]" * depth
    body = json.dumps(call)[:-1] + f', "context": {{"deep": {nested}}}}}'
    if depth > 2000:
        body = "[" * depth + "]" * depth

    response = send(client, body)

    detail = assert_json_error(response, 422)["detail"]
    assert detail[0]["loc"] == ["body"]
    assert detail[0]["type"] in {"json_too_deep", "json_invalid"}


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (PROPOSE, "[1, 2]"),
        (PROPOSE, '"space"'),
        (BATCH, "[]"),
        (BATCH, '{"calls": [[]]}'),
    ],
)
def test_a_body_that_is_not_an_object_is_422_saying_so(client, db, url, body):
    response = send(client, body, url=url)

    detail = assert_json_error(response, 422)["detail"]
    assert detail[0]["type"] == "model_type", detail
    assert "valid dictionary" in detail[0]["msg"]
    # Not a Python error about the value (``list.count()`` …).
    assert "()" not in json.dumps(detail)


def test_json_nested_within_the_bound_is_taken(client, call):
    nested = "[" * 28 + "]" * 28
    body = json.dumps(call)[:-1] + f', "context": {{"deep": {nested}}}}}'

    assert send(client, body).status_code == 200


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1" + "0" * 400]
)
@pytest.mark.parametrize("where", ["context", "count", "batch"])
def test_numbers_json_cannot_represent_are_422(client, call, number, where):
    if where == "context":
        body = json.dumps(call)[:-1] + f', "context": {{"basket": {number}}}}}'
    elif where == "count":
        body = json.dumps(call)[:-1] + f', "count": {number}}}'
    else:
        body = '{"calls": [' + json.dumps(call)[:-1] + f', "seed": {number}}}]}}'

    response = send(client, body, BATCH if where == "batch" else PROPOSE)

    detail = assert_json_error(response, 422)["detail"]
    assert detail[0]["type"] == "json_not_finite"
    assert not Proposition.objects.exists()


@pytest.mark.parametrize("field", ["contact", "visitor", "category", "context"])
def test_lone_surrogates_are_422(client, call, field):
    value = '{"k\\udc00": 1}' if field == "context" else '"a\\ud800b"'
    body = json.dumps(call)[:-1] + f', "{field}": {value}}}'

    detail = assert_json_error(send(client, body), 422)["detail"]
    assert detail[0]["type"] == "json_invalid_text"


def test_escaped_surrogate_pairs_are_text(client, call):
    body = json.dumps({**call, "context": {"mood": "\U0001f600"}}, ensure_ascii=True)
    assert "\\ud83d" in body

    assert send(client, body).status_code == 200


def test_a_large_finite_number_is_taken(client, call):
    body = json.dumps(call)[:-1] + ', "context": {"basket": 1e308}}'

    assert send(client, body).status_code == 200


# --- Methods, URLs and faults: JSON with a documented status ----------------


def test_wrong_method_is_405_json(client, db):
    response = client.get(PROPOSE)

    assert assert_json_error(response, 405)["detail"]
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "path",
    [
        API + "nowhere",
        PROPOSE + "/",
        API + "t/a/b",
        API + "propose/batch/extra",
        API,
    ],
)
def test_unknown_api_urls_are_404_json(client, db, path):
    assert "detail" in assert_json_error(client.post(path), 404)


def test_proposition_ids_are_checked(client, db):
    status = {"status": "presented", "token": "x"}

    assert_field_refused(send(client, status, API + "propositions/abc/status"), "id")
    assert_json_error(send(client, status, API + "propositions/-1/status"), 404)
    assert_json_error(send(client, status, API + f"propositions/{2**70}/status"), 404)


def test_an_unexpected_error_is_500_json(client, call, documented):
    with mock.patch(
        "interaction.api.endpoints.propose_offers", side_effect=RuntimeError("boom")
    ):
        response = send(client, call)

    assert assert_json_error(response, 500) == {"detail": "Internal server error."}
    assert 500 in documented(PROPOSE, "post")


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
@pytest.mark.parametrize("url", [PROPOSE, BATCH])
def test_a_database_outage_is_503_json_with_retry_after(
    client, call, documented, error, url
):
    body = {"calls": [call]} if url == BATCH else call
    with mock.patch(
        "interaction.api.endpoints.propose_offers",
        side_effect=error("could not connect to server"),
    ):
        response = send(client, body, url)

    assert "detail" in assert_json_error(response, 503)
    assert int(response["Retry-After"]) > 0
    assert 503 in documented(url, "post")


def test_a_database_outage_on_status_updates_is_503(client, db):
    with mock.patch(
        "interaction.api.endpoints._get_proposition",
        side_effect=OperationalError("server closed the connection"),
    ):
        response = send(
            client, {"status": "presented", "token": "x"}, API + "propositions/1/status"
        )

    assert_json_error(response, 503)
    assert response["Retry-After"]


def test_a_database_outage_while_checking_a_key_is_503(client, call):
    with mock.patch(
        "interaction.models.ApiKey.authenticate",
        side_effect=OperationalError("server closed the connection"),
    ):
        response = send(client, call, Authorization="Bearer wik_x")

    assert_json_error(response, 503)


def test_one_failing_call_does_not_fail_the_batch(client, call, space):
    from interaction.api import endpoints

    real = endpoints.propose_offers

    def fail_on_second(engine_call, **kwargs):
        if engine_call.seed == 2:
            raise ValueError("a bug in one call")
        return real(engine_call, **kwargs)

    calls = [{**call, "seed": seed} for seed in (1, 2, 3)]
    with mock.patch.object(endpoints, "propose_offers", side_effect=fail_on_second):
        response = send(client, {"calls": calls}, BATCH)

    assert response.status_code == 200
    statuses = [item["status"] for item in response.json()["results"]]
    assert statuses == [200, 500, 200]
    assert Proposition.objects.count() == 2
