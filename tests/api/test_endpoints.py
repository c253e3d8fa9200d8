"""The JSON HTTP API: propose, status updates, tracked links, OpenAPI schema."""

import base64
import datetime
import json
import uuid

import pytest

from interaction.api.schemas import ProposeOut
from interaction.delivery.tracking import (
    LINKS,
    CompactSigner,
    proposition_token,
    token_matches,
    tracked_url,
)
from interaction.models import Proposition, SpaceContentField
from interaction.models.choices import PropositionStatus
from tests.builders import make_category, make_offer, make_space, publish

PROPOSE = "/api/interaction/v1/propose"


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def status_url(pk):
    return f"/api/interaction/v1/propositions/{pk}/status"


def post(client, url, data):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(url, data=body, content_type="application/json")


def error_fields(response):
    """The field names a 422 body points at."""
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    return {error["loc"][-1] for error in response.json()["detail"]}


@pytest.fixture
def banner(environment, category):
    """A live space showing the title, with two live offers published on it."""
    space = make_space(environment, "home-banner", live=False, max_offers=5)
    SpaceContentField.objects.create(space=space, field="title")
    publish(space)
    make_offer(
        category,
        "gold-card",
        spaces=[space],
        title="Gold card",
        destination_url="https://bank.example/gold?from=banner",
    )
    make_offer(category, "silver-card", spaces=[space], title="Silver card")
    return space


@pytest.fixture
def visitor_space(anonymous_environment):
    space = make_space(anonymous_environment, "visitor-banner")
    cards = make_category(anonymous_environment, "welcome")
    make_offer(cards, "welcome-offer", spaces=[space], title="Welcome")
    return space


def propose(client, **data):
    response = post(client, PROPOSE, data)
    assert response.status_code == 200, response.content
    body = response.json()
    # The endpoint skips ninja's output validation: its answer must be exactly
    # what the documented schema gives.
    assert ProposeOut.model_validate(body).model_dump(mode="json") == body
    return body


# --- propose ----------------------------------------------------------------


def test_propose_for_an_identified_contact(client, banner, contact):
    body = propose(client, space="home-banner", contact=contact.pk, count=2, seed=1)

    assert body["identified"] is True
    assert body["space"] == "home-banner"
    assert uuid.UUID(body["interaction"])
    assert body["reason"] is None
    assert [p["rank"] for p in body["propositions"]] == [1, 2]
    assert {p["offer"]["code"] for p in body["propositions"]} == {
        "gold-card",
        "silver-card",
    }
    first = body["propositions"][0]
    assert set(first) >= {
        "id",
        "rank",
        "weight",
        "offer",
        "content",
        "html",
        "text",
        "token",
        "tracked_url",
    }
    assert first["offer"]["category"] == "cards"
    assert first["weight"] == 1.0
    titles = {"gold-card": "Gold card", "silver-card": "Silver card"}
    assert first["content"] == {"title": titles[first["offer"]["code"]]}

    stored = Proposition.objects.filter(interaction_id=body["interaction"])
    assert stored.count() == 2
    for item in body["propositions"]:
        row = stored.get(pk=item["id"])
        assert row.contact_key == str(contact.pk)
        assert row.offer_code == item["offer"]["code"]
        assert row.rank == item["rank"]
        assert row.status == PropositionStatus.PROPOSED
        assert token_matches(item["token"], row.pk)
        assert not token_matches(item["token"], row.pk + 1)
    by_code = {p["offer"]["code"]: p for p in body["propositions"]}
    assert by_code["gold-card"]["tracked_url"].startswith(
        "http://testserver/api/interaction/v1/t/"
    )
    assert by_code["silver-card"]["tracked_url"] is None


def test_contact_as_a_string_and_count_limits_the_answer(client, banner, contact):
    body = propose(client, space="home-banner", contact=str(contact.pk))

    assert body["identified"] is True
    assert len(body["propositions"]) == 1


def test_unknown_contact_gets_no_offers_and_a_reason(client, banner):
    body = propose(client, space="home-banner", contact="999999")

    assert body["identified"] is False
    assert body["propositions"] == []
    assert "not found" in body["reason"]
    assert not Proposition.objects.exists()


def test_propose_without_storing(admin_client, banner, contact):
    # Only a trusted caller (here a staff session) may set ``store``.
    body = propose(admin_client, space="home-banner", contact=contact.pk, store=False)

    assert body["propositions"][0]["id"] is None
    assert body["propositions"][0]["token"] is None
    assert body["propositions"][0]["tracked_url"] is None
    assert not Proposition.objects.exists()


def test_propose_in_an_anonymous_space(admin_client, visitor_space):
    # Only a trusted caller (here a staff session) may set ``date``.
    body = propose(
        admin_client,
        space="visitor-banner",
        visitor="v-123",
        context={"page": "home"},
        themes=[],
        date="2030-05-01T10:00:00",
    )

    assert body["identified"] is False
    assert [p["offer"]["code"] for p in body["propositions"]] == ["welcome-offer"]
    row = Proposition.objects.get(pk=body["propositions"][0]["id"])
    assert row.visitor_id == "v-123"
    assert row.contact_key == ""
    assert row.event_date == datetime.datetime(2030, 5, 1, 10, tzinfo=datetime.UTC)


def test_propose_needs_no_session_or_csrf_token(visitor_space):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = post(client, PROPOSE, {"space": "visitor-banner"})

    assert response.status_code == 200


# --- propose errors ---------------------------------------------------------


def test_unknown_space_is_404(client, banner):
    response = post(client, PROPOSE, {"space": "nowhere"})

    assert response.status_code == 404
    assert "nowhere" in response.json()["detail"]


def test_draft_space_is_404(client, environment):
    make_space(environment, "draft-space", live=False)

    assert post(client, PROPOSE, {"space": "draft-space"}).status_code == 404


def test_space_not_in_real_time_mode_is_409(client, environment):
    make_space(environment, "batch-only", real_time=False)

    response = post(client, PROPOSE, {"space": "batch-only", "contact": 1})

    assert response.status_code == 409
    assert "real-time" in response.json()["detail"]


@pytest.mark.parametrize("count", [0, 101, -1])
def test_count_out_of_range_is_422(client, banner, count):
    response = post(client, PROPOSE, {"space": "home-banner", "count": count})

    assert error_fields(response) == {"count"}


@pytest.mark.parametrize(
    "data, field",
    [
        ({"space": "home-banner", "count": "two"}, "count"),
        ({"space": "home-banner", "count": 1.5}, "count"),
        ({"space": "home-banner", "themes": "cards"}, "themes"),
        ({"space": "home-banner", "context": [1, 2]}, "context"),
        ({"space": "home-banner", "date": "yesterday"}, "date"),
        ({"space": "home-banner", "store": "maybe"}, "store"),
        ({"space": "home-banner", "seed": "x"}, "seed"),
        ({"space": 12}, "space"),
        ({"count": 1}, "space"),
    ],
)
def test_wrong_types_are_422_naming_the_field(client, banner, data, field):
    response = post(client, PROPOSE, data)

    assert field in error_fields(response)


def test_contact_of_a_wrong_type_is_422(client, banner):
    response = post(client, PROPOSE, {"space": "home-banner", "contact": [1]})

    assert response.status_code == 422
    assert any("contact" in error["loc"] for error in response.json()["detail"])


@pytest.mark.parametrize("body", ['{"space": "home-banner",', "not json", b"\xff\xfe"])
def test_malformed_json_is_422_json(client, banner, body):
    response = post(client, PROPOSE, body)

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("body", ["[]", "null", '"home-banner"'])
def test_a_body_that_is_not_an_object_is_422(client, banner, body):
    response = post(client, PROPOSE, body)

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")


def test_propose_is_post_only(client, banner):
    assert client.get(PROPOSE).status_code == 405


# --- status updates ---------------------------------------------------------


@pytest.fixture
def proposed(client, banner, contact):
    """The stored proposition of the gold card and its token."""
    body = propose(client, space="home-banner", contact=contact.pk, count=5)
    return next(p for p in body["propositions"] if p["offer"]["code"] == "gold-card")


def test_status_update(client, proposed):
    response = post(
        client,
        status_url(proposed["id"]),
        {"status": "presented", "token": proposed["token"]},
    )

    assert response.status_code == 200
    body = response.json()
    row = Proposition.objects.get(pk=proposed["id"])
    assert body == {
        "id": row.pk,
        "status": "presented",
        "offer": "gold-card",
        "space": "home-banner",
        "rank": row.rank,
        "weight": row.weight,
        "interaction": str(row.interaction_id),
    }
    assert row.status == "presented"


def test_status_update_is_idempotent(client, proposed):
    url = status_url(proposed["id"])
    data = {"status": "interested", "token": proposed["token"]}

    first = post(client, url, data)
    modified = Proposition.objects.get(pk=proposed["id"]).last_modified
    second = post(client, url, data)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    row = Proposition.objects.get(pk=proposed["id"])
    assert row.status == "interested"
    assert row.last_modified == modified


def test_accepted_maps_to_the_space_accepted_status(client, proposed, banner):
    banner.accepted_status = PropositionStatus.SCHEDULED
    banner.save()

    response = post(
        client,
        status_url(proposed["id"]),
        {"status": "accepted", "token": proposed["token"]},
    )

    assert response.status_code == 200
    assert response.json()["status"] == "scheduled"
    assert Proposition.objects.get(pk=proposed["id"]).status == "scheduled"


def test_unknown_proposition_is_404(client, db):
    token = proposition_token(987654)

    response = post(client, status_url(987654), {"status": "presented", "token": token})

    assert response.status_code == 404
    assert "detail" in response.json()
    assert post(client, status_url(2**70), {"status": "presented"}).status_code == 404


def test_unknown_status_is_422(client, proposed):
    response = post(
        client,
        status_url(proposed["id"]),
        {"status": "bought", "token": proposed["token"]},
    )

    assert error_fields(response) == {"status"}
    assert Proposition.objects.get(pk=proposed["id"]).status == "proposed"


def test_malformed_status_body_is_422(client, proposed):
    response = post(client, status_url(proposed["id"]), "{oops")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "garbage",
        # The proposition's id, signed for another purpose.
        lambda pk: CompactSigner("another.salt").sign(str(pk)),
        lambda pk: CompactSigner("interaction.track").sign(str(pk)),
    ],
    ids=["missing", "empty", "garbage", "other-salt", "link-salt"],
)
def test_missing_or_bad_token_is_403(client, proposed, token):
    data = {"status": "accepted"}
    if callable(token):
        token = token(proposed["id"])
    if token is not None:
        data["token"] = token

    response = post(client, status_url(proposed["id"]), data)

    assert response.status_code == 403
    assert "token" in response.json()["detail"]
    assert Proposition.objects.get(pk=proposed["id"]).status == "proposed"


def test_token_of_another_proposition_is_403(client, banner, contact):
    body = propose(client, space="home-banner", contact=contact.pk, count=2)
    first, second = body["propositions"]

    response = post(
        client,
        status_url(first["id"]),
        {"status": "accepted", "token": second["token"]},
    )

    assert response.status_code == 403


# --- tracked links ----------------------------------------------------------


def test_tracked_link_records_acceptance_and_redirects(client, proposed, banner):
    banner.accepted_status = PropositionStatus.INTERESTED
    banner.save()

    response = client.get(proposed["tracked_url"])

    assert response.status_code == 302
    assert response["Location"] == "https://bank.example/gold?from=banner"
    assert Proposition.objects.get(pk=proposed["id"]).status == "interested"
    # Following it again changes nothing and still redirects.
    assert client.get(proposed["tracked_url"]).status_code == 302


def test_tracked_url_helper(client, proposed, settings):
    settings.INTERACTION_BASE_URL = "https://shop.example.org/"
    link = tracked_url(proposed["id"], "https://example.com/x")

    assert link.startswith("https://shop.example.org/api/interaction/v1/t/")
    response = client.get(link.removeprefix("https://shop.example.org"))
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/x"
    assert Proposition.objects.get(pk=proposed["id"]).status == "accepted"


def test_tracked_url_refuses_other_schemes(db):
    with pytest.raises(ValueError):
        tracked_url(1, "javascript:alert(1)")


@pytest.mark.parametrize(
    "signed",
    [
        "garbage",
        CompactSigner("other").sign(f"1.{b64('https://evil.example')}"),
        LINKS.sign(f"1.{b64('javascript:alert(1)')}"),
        LINKS.sign(b64("https://example.com")),
    ],
    ids=["garbage", "other-salt", "javascript", "not-an-object"],
)
def test_bad_tracked_link_is_404_json(client, proposed, signed):
    response = client.get(f"/api/interaction/v1/t/{signed}")

    assert response.status_code == 404
    assert "detail" in response.json()
    assert Proposition.objects.get(pk=proposed["id"]).status == "proposed"


def test_tampered_tracked_link_is_refused(client, proposed):
    tampered = proposed["tracked_url"].replace("/t/", "/t/x")

    assert client.get(tampered).status_code == 404


# --- OpenAPI ----------------------------------------------------------------


def test_openapi_schema_lists_the_endpoints(client, db):
    response = client.get("/api/interaction/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Wagtail Interaction API"
    assert schema["info"]["version"] == "1"
    paths = schema["paths"]
    assert "post" in paths["/api/interaction/v1/propose"]
    assert "post" in paths["/api/interaction/v1/propositions/{id}/status"]
    propose_responses = paths["/api/interaction/v1/propose"]["post"]["responses"]
    assert {"200", "404", "409", "422"} <= set(propose_responses)
    batch = schema["components"]["schemas"]["ProposeBatchIn"]["properties"]
    assert batch["unique_offers"]["default"] is False
    assert "One offer once per page" in batch["unique_offers"]["description"]
    assert "the page shows already" in batch["shown_offers"]["description"]


def test_api_docs_are_served(client, db):
    response = client.get("/api/interaction/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_a_late_presented_does_not_undo_an_accepted(client, proposed):
    def set_status(status):
        data = {"status": status, "token": proposed["token"]}
        return post(client, status_url(proposed["id"]), data).json()["status"]

    assert set_status("accepted") == "accepted"
    assert set_status("presented") == "accepted"
    assert set_status("rejected") == "rejected"


def test_batch_answers_each_call_in_order(client, banner, contact, visitor_space):
    response = post(
        client,
        "/api/interaction/v1/propose/batch",
        {
            "calls": [
                {"space": "home-banner", "contact": contact.pk, "count": 2},
                {"space": "no-such-space"},
                {"space": visitor_space.code, "visitor": "v-1"},
            ]
        },
    )

    assert response.status_code == 200
    first, unknown, anonymous = response.json()["results"]
    assert first["status"] == 200
    assert first["result"]["identified"] is True
    assert len(first["result"]["propositions"]) == 2
    assert unknown == {"status": 404, "result": None, "detail": unknown["detail"]}
    assert "no-such-space" in unknown["detail"]
    assert anonymous["status"] == 200
    assert anonymous["result"]["space"] == visitor_space.code


@pytest.mark.parametrize("calls", [[], [{"space": "x"}] * 21, [{"count": 1}]])
def test_batch_of_bad_size_or_calls_is_422(client, banner, calls):
    response = post(client, "/api/interaction/v1/propose/batch", {"calls": calls})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "payload", "calls"]


def batch_codes(client, contact, **options):
    """The offer codes each call of a hero-then-sidebar batch proposes."""
    calls = [
        {"space": "hero", "contact": contact.pk},
        {"space": "sidebar", "contact": contact.pk, "count": 3},
    ]
    response = post(
        client, "/api/interaction/v1/propose/batch", {"calls": calls, **options}
    )
    assert response.status_code == 200, response.content
    return [
        [p["offer"]["code"] for p in item["result"]["propositions"]]
        for item in response.json()["results"]
    ]


def test_batch_repeats_offers_across_spaces_by_default(client, page_spaces, contact):
    assert batch_codes(client, contact) == [["best"], ["best", "second", "third"]]
    assert batch_codes(client, contact, unique_offers=False)[1][0] == "best"


def test_batch_with_unique_offers_shows_each_offer_once(client, page_spaces, contact):
    hero, sidebar = page_spaces

    codes = batch_codes(client, contact, unique_offers=True)

    assert codes == [["best"], ["second", "third", "fourth"]]
    stored = Proposition.objects.order_by("space__code", "rank")
    assert [(p.space.code, p.offer_code, p.rank) for p in stored] == [
        ("hero", "best", 1),
        ("sidebar", "second", 1),
        ("sidebar", "third", 2),
        ("sidebar", "fourth", 3),
    ]


def test_batch_excludes_the_offers_the_page_shows_already(client, page_spaces, contact):
    codes = batch_codes(
        client, contact, unique_offers=True, shown_offers=["second", "unknown"]
    )

    assert codes == [["best"], ["third", "fourth"]]


def test_a_failed_call_takes_nothing_from_the_next_ones(client, page_spaces, contact):
    calls = [
        {"space": "no-such-space"},
        {"space": "sidebar", "contact": contact.pk, "count": 3},
    ]
    response = post(
        client,
        "/api/interaction/v1/propose/batch",
        {"calls": calls, "unique_offers": True},
    )

    unknown, sidebar = response.json()["results"]
    assert unknown["status"] == 404
    assert [p["offer"]["code"] for p in sidebar["result"]["propositions"]] == [
        "best",
        "second",
        "third",
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"unique_offers": "yes"}, "unique_offers"),
        ({"unique_offers": 1}, "unique_offers"),
        ({"unique_offers": True, "shown_offers": "best"}, "shown_offers"),
        ({"unique_offers": True, "shown_offers": [""]}, 0),
        ({"unique_offers": True, "shown_offers": ["x" * 51]}, 0),
        ({"unique_offers": True, "shown_offers": ["x"] * 201}, "shown_offers"),
    ],
)
def test_batch_options_of_bad_type_are_422(client, page_spaces, options, field):
    calls = [{"space": "hero"}]
    response = post(
        client, "/api/interaction/v1/propose/batch", {"calls": calls, **options}
    )

    assert field in error_fields(response)
    assert not Proposition.objects.exists()


def test_shown_offers_without_unique_offers_is_422(client, page_spaces):
    response = post(
        client,
        "/api/interaction/v1/propose/batch",
        {"calls": [{"space": "hero"}], "shown_offers": ["best"]},
    )

    assert response.status_code == 422
    assert "unique_offers" in response.json()["detail"][0]["msg"]


def test_tracked_links_never_take_the_callers_host(client, contact, offer, settings):
    settings.INTERACTION_BASE_URL = "https://shop.example.org"
    offer.destination_url = "https://example.com/gold"
    publish(offer)

    response = client.post(
        "/api/interaction/v1/propose",
        {"space": "home-banner", "contact": contact.pk},
        content_type="application/json",
        headers={"host": "attacker.example"},
    )

    link = response.json()["propositions"][0]["tracked_url"]
    assert link.startswith("https://shop.example.org/api/interaction/v1/t/")


def test_tracked_links_and_tokens_expire(client, proposed, settings):
    settings.INTERACTION_SIGNATURE_MAX_AGE = -1

    assert client.get(proposed["tracked_url"]).status_code == 404
    response = client.post(
        f"/api/interaction/v1/propositions/{proposed['id']}/status",
        {"status": "presented", "token": proposed["token"]},
        content_type="application/json",
    )
    assert response.status_code == 403
