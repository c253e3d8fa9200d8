"""Issue 8, point 2: only trusted callers may set ``date`` and ``store``.

Replays the attack (an anonymous ``{"store": false}`` or far-future ``date``
delivering a capped offer beyond its cap) and checks the API keys that make a
caller trusted: scoped to environments, stored hashed, revocable, managed by
Interaction administrators only.
"""

import datetime
import hashlib
import json
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from interaction.models import ApiKey, OfferWeight, Proposition, TypologyRule
from tests.builders import make_category, make_offer, make_space, publish

API = "/api/interaction/v1/"
PROPOSE = API + "propose"
BATCH = API + "propose/batch"


def post(client, url, data, key=None, **headers):
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return client.post(
        url, data=json.dumps(data), content_type="application/json", headers=headers
    )


def make_key(*environments, label="Partner CRM"):
    """A saved API key of ``environments``, and the key in clear."""
    row = ApiKey(label=label)
    key = row.issue()
    row.save()
    row.environments.set(environments)
    return row, key


def admin_url(view, *args):
    return reverse(ApiKey.snippet_viewset.get_url_name(view), args=args)


@pytest.fixture
def capped(environment, category, space):
    """An offer capped at 2 propositions a day over every contact."""
    offer = make_offer(category, "capped", spaces=[space], title="Capped")
    OfferWeight.objects.create(offer=offer, value="10")
    publish(offer)
    TypologyRule.objects.create(
        environment=environment,
        code="budget",
        label="Budget",
        global_capping=True,
        quantity=2,
        period_days=1,
        offer_condition={"field": "offer.code", "op": "=", "value": "capped"},
    )
    return offer


@pytest.fixture
def other_space(other_environment):
    space = make_space(other_environment, "partner-banner")
    make_offer(make_category(other_environment, "perks"), "perk", spaces=[space])
    return space


# --- Anonymous callers ------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"), [("store", False), ("store", True), ("date", "2034-01-01")]
)
def test_anonymous_caller_cannot_set_date_or_store(
    client, offer, contact, option, value
):
    response = post(client, PROPOSE, {"space": offer.spaces.get().code, option: value})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert option in response.json()["detail"]
    assert not Proposition.objects.exists()


def test_anonymous_call_gets_the_space_setting_and_the_current_date(
    client, offer, space, contact
):
    before = timezone.now()
    data = {"space": space.code, "contact": contact.pk, "store": None, "date": None}
    body = post(client, PROPOSE, data).json()

    row = Proposition.objects.get(pk=body["propositions"][0]["id"])
    assert before <= row.event_date <= timezone.now()


def test_a_batch_refuses_only_the_calls_that_set_them(client, offer, space, contact):
    response = post(
        client,
        BATCH,
        {
            "calls": [
                {"space": space.code, "contact": contact.pk},
                {"space": space.code, "contact": contact.pk, "store": False},
            ]
        },
    )

    assert response.status_code == 200
    allowed, refused = response.json()["results"]
    assert allowed["status"] == 200
    assert refused["status"] == 403
    assert "store" in refused["detail"]
    assert Proposition.objects.count() == 1


def test_anonymous_caller_cannot_exceed_a_global_cap(client, capped, space, contact):
    call = {"space": space.code, "contact": contact.pk, "count": 1}
    codes = []
    for attempt in range(6):
        # The attack: not storing, or storing on a day far ahead, is refused...
        assert post(client, PROPOSE, {**call, "store": False}).status_code == 403
        future = {**call, "date": f"{2030 + attempt}-01-01T00:00:00Z"}
        assert post(client, PROPOSE, future).status_code == 403
        # ... and what an anonymous caller may do counts against the cap.
        body = post(client, PROPOSE, call).json()
        codes += [p["offer"]["code"] for p in body["propositions"]]

    assert codes.count("capped") == 2
    assert Proposition.objects.filter(offer=capped).count() == 2


def test_a_logged_in_user_who_is_not_staff_is_not_trusted(
    client, django_user_model, offer, space
):
    client.force_login(django_user_model.objects.create_user("visitor", password="x"))

    assert (
        post(client, PROPOSE, {"space": space.code, "store": False}).status_code == 403
    )


# --- Trusted callers --------------------------------------------------------


def test_a_key_of_the_environment_sets_date_and_store(
    client, environment, offer, space, contact
):
    _row, key = make_key(environment)
    call = {"space": space.code, "contact": contact.pk}

    stored = post(client, PROPOSE, {**call, "date": "2031-02-03T04:05:06+02:00"}, key)
    not_stored = post(client, PROPOSE, {**call, "store": False}, key)

    assert stored.status_code == 200, stored.content
    row = Proposition.objects.get(pk=stored.json()["propositions"][0]["id"])
    assert row.event_date == datetime.datetime(2031, 2, 3, 2, 5, 6, tzinfo=datetime.UTC)
    assert not_stored.status_code == 200
    assert not_stored.json()["propositions"][0]["id"] is None
    assert Proposition.objects.count() == 1


def test_a_key_with_a_global_cap_sets_the_date(
    client, environment, capped, space, contact
):
    _row, key = make_key(environment)
    call = {"space": space.code, "contact": contact.pk}
    for day in (1, 5):
        for _call in range(3):
            date = f"2031-03-0{day}T12:00:00Z"
            response = post(client, PROPOSE, {**call, "date": date}, key)
            assert response.status_code == 200

    # The cap is per day: a key may fill another day's budget, never exceed it.
    dates = Proposition.objects.filter(offer=capped).values_list(
        "event_date", flat=True
    )
    assert sorted(d.day for d in dates) == [1, 1, 5, 5]


def test_a_key_of_another_environment_cannot(client, other_environment, offer, space):
    _row, key = make_key(other_environment)

    response = post(client, PROPOSE, {"space": space.code, "store": False}, key)

    assert response.status_code == 403
    assert "store" in response.json()["detail"]
    # Without the options the key's call is an ordinary one.
    assert post(client, PROPOSE, {"space": space.code}, key).status_code == 200


def test_a_key_must_cover_the_fallback_space_environment(
    client, environment, anonymous_environment, contact
):
    fallback = make_space(anonymous_environment, "visitor-banner")
    make_offer(make_category(anonymous_environment, "welcome"), "hi", spaces=[fallback])
    space = make_space(environment, "identified", live=False)
    space.fallback_space = fallback
    publish(space)
    _row, narrow = make_key(environment)
    _row, wide = make_key(environment, anonymous_environment, label="Wide")

    data = {"space": "identified", "contact": "999999", "store": False}
    assert post(client, PROPOSE, data, narrow).status_code == 403
    assert post(client, PROPOSE, data, wide).status_code == 200


def test_staff_session_sets_them_with_a_csrf_token(
    client, django_user_model, offer, space
):
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(staff)

    assert (
        post(client, PROPOSE, {"space": space.code, "store": False}).status_code == 200
    )
    # Another site cannot make a staff member's browser set them.
    assert (
        post(checked, PROPOSE, {"space": space.code, "store": False}).status_code == 403
    )


@pytest.mark.parametrize(
    "header",
    ["Bearer wik_0123abcd_" + "x" * 43, "Bearer nonsense", "Bearer ", "bearer wik_"],
)
def test_unknown_key_is_401_json(client, offer, space, header):
    response = client.post(
        PROPOSE,
        data=json.dumps({"space": space.code}),
        content_type="application/json",
        headers={"Authorization": header},
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "key" in response.json()["detail"]
    assert not Proposition.objects.exists()


def test_revoked_key_is_401(client, environment, offer, space):
    row, key = make_key(environment)
    assert post(client, PROPOSE, {"space": space.code}, key).status_code == 200

    row.revoke()

    response = post(client, PROPOSE, {"space": space.code, "store": False}, key)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_another_authorization_scheme_is_an_anonymous_call(client, offer, space):
    response = client.post(
        PROPOSE,
        data=json.dumps({"space": space.code}),
        content_type="application/json",
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )

    assert response.status_code == 200


def test_the_secret_is_not_stored_in_clear(environment):
    row, key = make_key(environment)
    prefix, secret = key.removeprefix("wik_").split("_", 1)

    stored = ApiKey.objects.filter(pk=row.pk).values().get()
    assert stored["prefix"] == prefix
    assert stored["hashed_key"] == hashlib.sha256(key.encode()).hexdigest()
    assert len(secret) == 43  # 32 random bytes
    assert not any(secret in str(value) for value in stored.values())


def test_last_used_is_written_at_most_once_a_minute(client, environment, offer, space):
    row, key = make_key(environment)

    def updates():
        with CaptureQueriesContext(connection) as queries:
            assert post(client, PROPOSE, {"space": space.code}, key).status_code == 200
        table = ApiKey._meta.db_table
        return [
            q for q in queries if q["sql"].startswith("UPDATE") and table in q["sql"]
        ]

    assert len(updates()) == 1
    used = ApiKey.objects.get(pk=row.pk).last_used_at
    assert used is not None
    assert updates() == []
    later = used + datetime.timedelta(minutes=2)
    with mock.patch.object(timezone, "now", return_value=later):
        assert len(updates()) == 1
        assert updates() == []
    assert ApiKey.objects.get(pk=row.pk).last_used_at == later


def test_openapi_documents_the_optional_key(client, db):
    schema = client.get(API + "openapi.json").json()

    scheme = schema["components"]["securitySchemes"]["BearerApiKey"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    operation = schema["paths"][PROPOSE]["post"]
    assert operation["security"] == [{"BearerApiKey": []}, {}]
    assert {"401", "403", "413", "422", "503"} <= set(operation["responses"])


# --- Keys in the admin ------------------------------------------------------


def test_administrator_creates_a_key_shown_once(client, role_user, environment):
    administrator = role_user("administrator")
    client.force_login(administrator)

    response = client.post(
        admin_url("add"), {"label": "Shop", "environments": [environment.pk]}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    row = ApiKey.objects.get(label="Shop")
    page = response.content.decode()
    key = page.split("<code data-api-key>")[1].split("</code>")[0]
    assert key.startswith(f"wik_{row.prefix}_")
    assert row.hashed_key == hashlib.sha256(key.encode()).hexdigest()
    assert row.created_by == administrator
    assert list(row.environments.all()) == [environment]
    # Never shown again.
    for view in ("list", "edit", "inspect"):
        args = () if view == "list" else (row.pk,)
        shown = client.get(admin_url(view, *args))
        assert shown.status_code == 200
        assert key not in shown.content.decode()
        # The secret after the prefix (it may itself hold "_").
        assert key.removeprefix(f"wik_{row.prefix}_") not in shown.content.decode()


def test_administrator_revokes_a_key(client, role_user, environment, offer, space):
    row, key = make_key(environment)
    client.force_login(role_user("administrator"))
    assert admin_url("revoke", row.pk) in client.get(admin_url("list")).content.decode()

    assert client.get(admin_url("revoke", row.pk)).status_code == 200
    response = client.post(admin_url("revoke", row.pk))

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert post(client, PROPOSE, {"space": space.code}, key).status_code == 401


@pytest.mark.parametrize("role", ["manager", "approver", "delivery"])
def test_other_roles_cannot_manage_keys(client, role_user, environment, role):
    row, _key = make_key(environment)
    client.force_login(role_user(role))

    for view, args in [
        ("list", ()),
        ("add", ()),
        ("edit", (row.pk,)),
        ("revoke", (row.pk,)),
    ]:
        response = client.get(admin_url(view, *args))
        assert response.status_code == 302, view
        assert response.url == reverse("wagtailadmin_home")
    client.post(admin_url("add"), {"label": "Mine", "environments": [environment.pk]})
    client.post(admin_url("revoke", row.pk))

    assert not ApiKey.objects.filter(label="Mine").exists()
    assert ApiKey.objects.get(pk=row.pk).revoked_at is None


@pytest.fixture
def key_keeper(django_user_model, environment):
    """A user allowed in ``environment`` only, who may manage API keys."""
    group = Group.objects.create(name="Key keepers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        *Permission.objects.filter(content_type__model="apikey"),
    )
    user = django_user_model.objects.create_user("keeper", password="x")
    user.groups.add(group)
    environment.users.add(user)
    return django_user_model.objects.get(pk=user.pk)


def test_listing_shows_only_keys_of_the_user_environments(
    client, key_keeper, environment, other_environment
):
    own, _key = make_key(environment, label="Own key")
    foreign, _key = make_key(other_environment, label="Foreign key")
    both, _key = make_key(environment, other_environment, label="Shared key")
    client.force_login(key_keeper)

    listing = client.get(admin_url("list")).content.decode()

    assert "Own key" in listing
    assert "Foreign key" not in listing
    assert "Shared key" not in listing
    assert other_environment.label not in listing  # nor in the filters
    filtered = client.get(admin_url("list"), {"environments": environment.pk})
    assert "Own key" in filtered.content.decode()
    assert set(ApiKey.objects.for_user(key_keeper)) == {own}
    for row in (foreign, both):
        for view in ("edit", "revoke", "delete", "inspect"):
            response = client.get(admin_url(view, row.pk))
            assert response.status_code == 302, view
        client.post(admin_url("revoke", row.pk))
        assert ApiKey.objects.get(pk=row.pk).revoked_at is None
    add_form = client.get(admin_url("add")).content.decode()
    assert other_environment.label not in add_form


def test_administrators_hold_the_key_permissions(role_user):
    administrator = role_user("administrator")
    manager = role_user("manager")

    for action in ("add", "change", "delete", "view"):
        assert administrator.has_perm(f"interaction.{action}_apikey")
        assert not manager.has_perm(f"interaction.{action}_apikey")
