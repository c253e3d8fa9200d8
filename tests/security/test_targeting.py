"""Issue 8, point 3: targeting reads an allow-list of fields, never secrets.

Each attack is replayed: a condition, formula or identification on a
credential or privilege is refused when saved; forced into the database with
``.update()``, it is never read, so the public API answers the same whatever
the secret (the offer is ineligible, with a reason in the trace). Wagtail pages
and framework internals are never dimensions; ``INTERACTION_DIMENSIONS``
cannot make them, or credential fields, targetable.
"""

import json

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import models
from django.test.utils import isolate_apps
from wagtail.models import Page

from interaction.checks import check_settings
from interaction.delivery import snapshot
from interaction.delivery.propose import propose as run_propose
from interaction.engine.call import Call
from interaction.engine.evaluation import NOT_TARGETABLE
from interaction.models import (
    Environment,
    Offer,
    OfferSpace,
    OfferWeight,
    TypologyRule,
)
from interaction.targeting.fields import (
    dimension_choices,
    is_denied,
    is_dimension,
    model_fields,
    targetable_fields,
)
from tests.builders import make_category, make_offer, make_space

PROPOSE = "/api/interaction/v1/propose"
CREDENTIALS = ("password", "is_superuser", "is_staff", "user_permissions", "groups")
INTERNALS = (
    "auth.group",
    "auth.permission",
    "contenttypes.contenttype",
    "sessions.session",
    "wagtailcore.site",
    "wagtailcore.page",
    "wagtailimages.image",
    "taggit.tag",
    "interaction.environment",
    "interaction.offer",
)


def api_propose(client, space_code, contact):
    response = client.post(
        PROPOSE,
        data=json.dumps({"space": space_code, "contact": contact}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def offer_codes(body) -> list[str]:
    return [proposition["offer"]["code"] for proposition in body["propositions"]]


def trace_of(space_code, contact) -> dict[str, str]:
    """Offer code -> why it was dropped, for an explained call."""
    result = run_propose(
        Call(space=space_code, contact=str(contact), explain=True), store=False
    )
    return {d.offer_code: d.reason for d in result.trace if not d.kept}


def check_ids(settings_value, settings) -> list[str]:
    settings.INTERACTION_DIMENSIONS = settings_value
    return [problem.id for problem in check_settings()]


def page_model() -> type[Page]:
    """A page type of an installed site app (not Wagtail's own)."""
    return next(
        model
        for model in apps.get_models()
        if issubclass(model, Page)
        and not model._meta.app_config.name.startswith("wagtail")
    )


@pytest.fixture
def members(db):
    """An environment targeting ``auth.User``, as the attacker chose."""
    return Environment.objects.create(
        code="members", label="Members", dimension="auth.user"
    )


@pytest.fixture
def victim(django_user_model):
    return django_user_model.objects.create_user(
        "victim", email="victim@example.com", password="correct horse battery"
    )


@pytest.fixture
def perk(members):
    """A live offer on a live space of ``members``."""
    space = make_space(members, "member-banner")
    return make_offer(
        make_category(members, "perks"), "perk", spaces=[space], title="Perk"
    )


def force_filter(offer, condition):
    """Bypass validation, as a bug, an import or raw SQL could."""
    Offer.objects.filter(pk=offer.pk).update(target_filter=condition)
    snapshot.invalidate()


# --- Credentials and privileges of auth.User -----------------------------------


def test_user_credentials_are_not_targetable(members):
    fields = members.condition_schema().contact_fields

    assert {"username", "email", "first_name", "date_joined", "pk"} <= set(fields)
    assert not set(CREDENTIALS) & set(fields)
    assert not any(is_denied(name) for name in fields)


@pytest.mark.parametrize("field", CREDENTIALS)
def test_a_condition_on_a_credential_is_refused_on_save(perk, field):
    perk.target_filter = {"field": field, "op": "is not empty"}

    with pytest.raises(ValidationError) as raised:
        perk.full_clean()

    assert f"Unknown field “{field}”" in " ".join(
        raised.value.message_dict["target_filter"]
    )


@pytest.mark.parametrize(
    "owner, field_name",
    [("environment", "target_filter"), ("rule", "contact_condition")],
)
def test_other_conditions_on_credentials_are_refused(members, owner, field_name):
    condition = {"field": "password", "op": "startswith", "value": "pbkdf2"}
    if owner == "environment":
        target = members
    else:
        target = TypologyRule(
            environment=members, code="r", label="R", quantity=1, period_days=1
        )
    setattr(target, field_name, condition)

    with pytest.raises(ValidationError) as raised:
        target.full_clean()

    assert field_name in raised.value.message_dict


@pytest.mark.parametrize("formula", ["is_superuser * 100", "1 + is_staff"])
def test_a_weight_formula_on_a_privilege_is_refused(perk, formula):
    with pytest.raises(ValidationError) as raised:
        OfferWeight(offer=perk, value=formula).full_clean()

    assert "value" in raised.value.message_dict


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "password", "op": "startswith", "value": "{prefix}"},
        {"not": {"field": "password", "op": "startswith", "value": "{prefix}"}},
        {"field": "is_superuser", "op": "=", "value": True},
    ],
    ids=["startswith", "not-startswith", "is_superuser"],
)
def test_a_forced_condition_on_a_credential_is_no_oracle(
    client, victim, perk, condition
):
    answers = []
    for prefix in (victim.password[:12], "wrong-prefix"):
        forced = json.loads(json.dumps(condition).replace("{prefix}", prefix))
        force_filter(perk, forced)
        answers.append(offer_codes(api_propose(client, "member-banner", victim.pk)))

    # Never eligible, whether the prefix is right or not: the answer tells
    # nothing, and the trace says why.
    assert answers == [[], []]
    reason = trace_of("member-banner", victim.pk)["perk"]
    assert reason.startswith(NOT_TARGETABLE)
    # The engine does not even read the field.
    _model, read = snapshot.get_snapshot().dimensions[perk.environment_id]
    assert not set(CREDENTIALS) & set(read)


def test_identifying_contacts_by_a_credential_is_refused(client, victim, perk):
    space = OfferSpace.objects.get(code="member-banner")
    space.identification_fields = "password"
    with pytest.raises(ValidationError) as raised:
        space.full_clean()
    assert "identification_fields" in raised.value.message_dict

    OfferSpace.objects.filter(pk=space.pk).update(identification_fields="password")
    snapshot.invalidate()
    body = api_propose(client, "member-banner", victim.password)

    # The hash is never looked up: the caller learns nothing from it.
    assert body["identified"] is False
    assert offer_codes(body) == []


# --- Related fields --------------------------------------------------------------


def test_relations_into_credentials_are_not_targetable():
    with isolate_apps("tests.testapp"):

        class Subscription(models.Model):  # noqa: DJ008
            owner = models.ForeignKey(User, on_delete=models.CASCADE)
            api_key = models.ForeignKey(
                User, on_delete=models.CASCADE, related_name="+"
            )
            session = models.ForeignKey(
                Session, on_delete=models.CASCADE, related_name="+"
            )
            reset_token = models.CharField(max_length=50)
            secret_answer = models.CharField(max_length=50)
            PasswordHint = models.CharField(max_length=50)
            plan = models.CharField(max_length=50)

            class Meta:
                app_label = "testapp"

        fields = model_fields(Subscription)

    assert {"owner__username", "owner__email", "plan", "pk"} <= set(fields)
    for denied in (
        "owner__password",
        "owner__is_superuser",
        "owner__is_staff",
        "reset_token",
        "secret_answer",
        "PasswordHint",
    ):
        assert denied not in fields
    # Neither through a credential-like relation, nor into framework internals.
    assert not any(name.startswith(("api_key", "session")) for name in fields)


# --- Dimensions: never pages nor framework internals ------------------------------


def test_pages_and_internals_are_not_offered_as_dimensions():
    offered = {label for label, _name in dimension_choices()}

    assert "auth.user" in offered
    assert page_model()._meta.label_lower not in offered
    assert not offered & set(INTERNALS)


def test_a_page_model_as_dimension_is_refused(db):
    label = page_model()._meta.label_lower
    environment = Environment(code="pages", label="Pages", dimension=label)

    with pytest.raises(ValidationError) as raised:
        environment.full_clean()

    assert "dimension" in raised.value.message_dict
    assert environment.condition_schema().contact_fields == {}


@pytest.mark.parametrize("label", ["page", *INTERNALS])
def test_configuring_a_page_or_internal_is_a_check_error(settings, label):
    if label == "page":
        label = page_model()._meta.label_lower

    assert "interaction.E010" in check_ids([label, "auth.user"], settings)
    assert label not in {value for value, _name in dimension_choices()}
    assert not is_dimension(apps.get_model(label))


# --- INTERACTION_DIMENSIONS ------------------------------------------------------


def test_configuring_a_credential_field_is_a_check_error(settings):
    ids = check_ids({"auth.user": ["first_name", "password", "is_superuser"]}, settings)

    assert ids.count("interaction.E011") == 2
    # Dropped: only what may be read remains (``pk`` identifies contacts).
    assert set(targetable_fields(User)) == {"first_name", "pk"}


def test_the_default_configuration_passes_the_checks(settings):
    ids = check_ids(None, settings)

    assert not {"interaction.E003", "interaction.E010", "interaction.E011"} & set(ids)


def test_the_per_model_field_list_is_honoured(settings, environment, perk):
    label = environment.dimension
    settings.INTERACTION_DIMENSIONS = {label: ["email", "age"]}
    snapshot.invalidate()

    assert set(environment.condition_schema().contact_fields) == {
        "email",
        "age",
        "pk",
    }
    assert [value for value, _name in dimension_choices()] == [label]
    _model, read = snapshot.get_snapshot().dimensions[environment.pk]
    assert set(read) == {"email", "age", "pk"}
    # auth.User is no longer a dimension: the environment says so, and the
    # engine reads nothing of it.
    with pytest.raises(ValidationError) as raised:
        Environment.objects.get(code="members").full_clean()
    assert "dimension" in raised.value.message_dict
    assert Environment.objects.get(code="members").pk not in (
        snapshot.get_snapshot().dimensions
    )


def test_an_unknown_configured_field_is_a_check_error(settings, environment):
    ids = check_ids({environment.dimension: ["email", "shoe_size"]}, settings)

    assert "interaction.E012" in ids


def test_the_list_of_labels_form_keeps_the_default_fields(settings, environment):
    default = model_fields(environment.dimension_model)
    settings.INTERACTION_DIMENSIONS = [environment.dimension]

    assert environment.condition_schema().contact_fields == default
    assert [value for value, _name in dimension_choices()] == [environment.dimension]


# --- Existing data after the allow-list changes -----------------------------------


def test_a_saved_condition_on_a_field_no_longer_targetable_fails_closed(
    settings, environment, offer, space, contact
):
    Offer.objects.filter(pk=offer.pk).update(
        target_filter={"field": "country", "op": "=", "value": contact.country}
    )
    snapshot.invalidate()
    assert "gold-card" not in trace_of(space.code, contact.pk)

    settings.INTERACTION_DIMENSIONS = {environment.dimension: ["email"]}
    snapshot.invalidate()

    reason = trace_of(space.code, contact.pk)["gold-card"]
    assert reason == f"{NOT_TARGETABLE}: “country”"
    offer.refresh_from_db()
    with pytest.raises(ValidationError) as raised:
        offer.full_clean()
    assert "target_filter" in raised.value.message_dict


def test_a_dimension_no_longer_allowed_is_not_read(
    client, settings, environment, victim, perk
):
    assert api_propose(client, "member-banner", victim.pk)["identified"] is True

    settings.INTERACTION_DIMENSIONS = [environment.dimension]
    snapshot.invalidate()
    body = api_propose(client, "member-banner", victim.pk)

    assert body["identified"] is False
    assert perk.environment_id not in snapshot.get_snapshot().dimensions


def test_a_rule_condition_on_a_field_no_longer_targetable_applies_to_everyone(
    members, perk
):
    rule = TypologyRule.objects.create(
        environment=members,
        code="once",
        label="Once",
        quantity=1,
        period_days=1,
        contact_condition={"field": "email", "op": "=", "value": "x@example.com"},
    )
    TypologyRule.objects.filter(pk=rule.pk).update(
        contact_condition={"field": "password", "op": "startswith", "value": "p"}
    )
    snapshot.invalidate()

    (compiled,) = snapshot.get_snapshot().catalogue.environments[members.pk].rules

    assert compiled.applies_to_contact is None
