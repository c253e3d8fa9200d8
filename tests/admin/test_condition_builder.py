"""The condition builder's admin endpoints: the fields a condition may compare,
and how many contacts it matches (scoped, permission-checked, validated as on
save); and the widget every condition field renders."""

import json

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.urls import reverse

from interaction.models import Offer
from interaction.targeting.describe import describe_condition, field_labels
from interaction.targeting.forms import MAX_CONDITION_LENGTH
from interaction.targeting.widgets import COUNT_URL_NAME, FIELDS_URL_NAME
from tests.builders import make_category, make_contact, make_space, url

FRENCH = {"field": "country", "op": "=", "value": "FR"}


def fields(client, **query):
    return client.get(reverse(FIELDS_URL_NAME), query)


def count(client, condition, **query):
    body = condition if isinstance(condition, str | bytes) else json.dumps(condition)
    return client.post(
        reverse(COUNT_URL_NAME) + "?" + "&".join(f"{k}={v}" for k, v in query.items()),
        body,
        content_type="application/json",
    )


@pytest.fixture
def manager(client, role_user):
    user = role_user("manager")
    client.force_login(user)
    return user


@pytest.fixture
def contacts(db):
    make_contact(country="FR", age=30, loyalty_tier="gold")
    make_contact(country="FR", age=17, loyalty_tier="none")
    make_contact(country="GB", age=45, loyalty_tier="silver")


def test_fields_of_the_categorys_dimension_with_labels_kinds_and_choices(
    client, manager, category
):
    response = fields(client, category=category.pk)

    assert response.status_code == 200
    listed = {field["name"]: field for field in response.json()["fields"]}
    assert listed["age"] == {
        "name": "age",
        "label": "Age",
        "group": "Contact",
        "kind": "number",
        "choices": [],
    }
    assert listed["signup_date"]["kind"] == "date"
    tiers = listed["loyalty_tier"]["choices"]
    assert tiers[:2] == [["none", "None"], ["silver", "Silver"]]
    assert "password" not in json.dumps(response.json())
    assert response.json()["countable"] is True
    assert response.json()["context"] is False


def test_the_primary_key_is_offered_once(client, manager, category):
    # Found in user trials: the field picker listed "ID" (id) and "Id" (pk).
    listed = fields(client, category=category.pk).json()["fields"]

    offered = [field for field in listed if not field.get("alias")]
    keys = [field for field in offered if field["label"] == "ID"]
    assert [field["name"] for field in keys] == ["pk"]
    assert len({field["label"] for field in offered}) == len(offered)
    # A condition already on "id" still reads by the same label.
    aliases = [field for field in listed if field.get("alias")]
    assert aliases == [
        {
            "name": "id",
            "label": "ID",
            "group": "Contact",
            "kind": "number",
            "choices": [],
            "alias": True,
        }
    ]
    labels = field_labels(category.environment.dimension_model)
    condition = {"any": [{"field": "pk", "op": "=", "value": 3}]}
    condition["any"].append({"field": "id", "op": "=", "value": 4})
    assert describe_condition(condition, labels) == "ID is 3 or ID is 4"


def test_rule_conditions_list_the_offer_fields_and_context_when_asked(
    client, manager, environment, offer, other_environment
):
    make_category(other_environment, "foreign")

    body = fields(client, environment=environment.pk, offer=1, context=1).json()

    listed = {field["name"]: field for field in body["fields"]}
    assert listed["offer.themes"]["kind"] == "text"
    # The catalogue's own values are suggested, this environment's only.
    assert listed["offer.category"]["suggestions"] == ["cards"]
    assert listed["offer.code"]["suggestions"] == ["gold-card"]
    assert body["context"] is True


def test_count_of_contacts_matching_a_nested_condition(
    client, manager, category, contacts
):
    condition = {
        "all": [
            FRENCH,
            {"any": [{"field": "age", "op": ">=", "value": 18}, {"not": FRENCH}]},
        ]
    }

    response = count(client, condition, category=category.pk)

    assert response.status_code == 200
    assert response.json() == {"count": 1, "total": 3}


def test_count_without_condition_is_everyone(client, manager, category, contacts):
    assert count(client, "", category=category.pk).json() == {"count": 3, "total": 3}


def test_count_with_a_relative_date(client, manager, space, contacts):
    condition = {"field": "signup_date", "op": "<", "value": {"today": -30}}

    assert count(client, condition, space=space.pk).json()["count"] == 3


def test_another_environments_category_or_space_is_not_found(
    client, manager, other_environment, contacts
):
    foreign_category = make_category(other_environment, "foreign")
    foreign_space = make_space(other_environment, "foreign-space")

    for query in (
        {"category": foreign_category.pk},
        {"space": foreign_space.pk},
        {"environment": other_environment.pk},
    ):
        for response in (fields(client, **query), count(client, FRENCH, **query)):
            assert response.status_code == 404, query
            assert response.json() == {"error": "Not found."}


def test_a_user_without_an_interaction_role_is_refused(
    client, django_user_model, environment, category
):
    user = django_user_model.objects.create_user(username="editor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    environment.users.add(user)
    client.force_login(user)

    response = count(client, FRENCH, category=category.pk)

    assert response.status_code == 403
    assert response.json() == {"error": "You may not work in this environment."}


def test_anonymous_users_are_sent_to_log_in(client, category):
    response = count(client, FRENCH, category=category.pk)

    assert response.status_code == 302
    assert reverse("wagtailadmin_login") in response.url


def test_only_administrators_count_by_dimension(client, role_user, contacts):
    client.force_login(role_user("manager"))
    assert count(client, FRENCH, dimension="testapp.contact").status_code == 403

    client.force_login(role_user("administrator", username="admin"))
    response = count(client, FRENCH, dimension="testapp.contact")
    assert response.json() == {"count": 2, "total": 3}
    assert count(client, FRENCH, dimension="auth.permission").status_code == 404


@pytest.mark.parametrize(
    "condition, message",
    [
        ({"field": "nickname", "op": "=", "value": "x"}, "Unknown field “nickname”"),
        ({"field": "age", "op": "contains", "value": "1"}, "operator “contains”"),
        ({"field": "age", "op": ">=", "value": "18"}, "is not a number"),
        ({"field": "password", "op": "=", "value": "x"}, "Unknown field “password”"),
        ({"field": "context.page", "op": "=", "value": "x"}, "call context fields"),
        (
            {"field": "signup_date", "op": ">", "value": {"today": 10**9}},
            "±36500",
        ),
        ('{"all": [', "Enter a valid JSON."),
        ("[" * 5000 + "]" * 5000, "nested deeper"),
        (
            json.dumps({"any": [FRENCH] * 1000}),
            f"at most {MAX_CONDITION_LENGTH} characters",
        ),
        (b"\xff\xfe", "not UTF-8"),
    ],
    ids=[
        "unknown",
        "operator",
        "value",
        "credential",
        "context",
        "far date",
        "json",
        "deep",
        "long",
        "bytes",
    ],
)
def test_invalid_condition_is_a_400_with_the_forms_message(
    client, manager, category, contacts, condition, message
):
    response = count(client, condition, category=category.pk)

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_call_context_comparisons_are_not_counted(client, manager, category):
    condition = {"field": "context.language", "op": "=", "value": "fr"}

    response = count(client, condition, category=category.pk, context=1)

    assert response.status_code == 200
    assert response.json()["count"] is None
    assert "depends on the call" in response.json()["detail"]


def test_visitors_of_an_anonymous_environment_are_not_counted(
    client, role_user, anonymous_environment
):
    client.force_login(role_user("manager", environments=[anonymous_environment]))
    category = make_category(anonymous_environment, "visits")

    assert fields(client, category=category.pk).json()["fields"] == []
    response = count(client, "", category=category.pk)
    assert response.json() == {"count": None, "detail": "Visitors are not counted."}


def test_count_takes_post_only_and_a_source(client, manager, category):
    response = client.get(reverse(COUNT_URL_NAME), {"category": category.pk})
    assert response.status_code == 405
    response = count(client, FRENCH)
    assert response.status_code == 400
    assert "Name the environment" in response.json()["error"]


def test_every_condition_field_renders_the_builder_and_no_null(
    client, manager, category
):
    response = client.get(url(Offer, "add"))

    html = response.content.decode()
    # The offer's filter and the weight row template's filter.
    assert html.count('data-controller="condition-builder"') == 2
    assert 'data-condition-builder-sources-value="category"' in html
    assert ">null</textarea>" not in html
    assert "interaction/js/condition-builder.js" in html


@pytest.mark.parametrize(
    "model_name, sources",
    [
        ("environment", ['dimension" data-condition-builder-context-value="true"']),
        ("offercategory", ['environment" data-condition-builder-context-value="true"']),
        (
            "typologyrule",
            [
                'environment" data-condition-builder-context-value="false" '
                'data-condition-builder-offer-value="true"',
                'environment" data-condition-builder-context-value="false" '
                'data-condition-builder-offer-value="false"',
            ],
        ),
    ],
)
def test_each_form_tells_the_builder_where_its_environment_is(
    client, role_user, model_name, sources
):
    client.force_login(role_user("administrator"))
    model = apps.get_model("interaction", model_name)

    html = " ".join(client.get(url(model, "add")).content.decode().split())

    for source in sources:
        assert f'data-condition-builder-sources-value="{source}' in html
