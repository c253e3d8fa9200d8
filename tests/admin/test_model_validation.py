"""Every model's ``clean()``: the error is reported on the field the editor fixes."""

import datetime
import json

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse
from django.utils import timezone

from interaction.models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    SpaceContentField,
    TypologyRule,
)
from tests.builders import (
    admin_form_data,
    make_category,
    make_offer,
    make_space,
    url,
)

NOW = timezone.now()
LATER = NOW + datetime.timedelta(days=7)

BAD_FILTER = {"field": "salary", "op": ">", "value": 1000}
GOOD_FILTER = {
    "all": [
        {"field": "country", "op": "=", "value": "FR"},
        {"field": "signup_date", "op": ">=", "value": {"today": -30}},
    ]
}


def errors_of(obj) -> dict:
    """``obj.full_clean()``'s errors, field name → messages."""
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


def assert_error(obj, field, *fragments):
    errors = errors_of(obj)
    assert field in errors, errors
    text = " ".join(errors[field])
    for fragment in fragments:
        assert fragment in text, errors[field]
    return errors


# Environment ---------------------------------------------------------------------


def test_valid_environments(db):
    Environment(
        code="crm", label="CRM", dimension="testapp.contact", target_filter=GOOD_FILTER
    ).full_clean()
    Environment(code="web", label="Web visitors").full_clean()


def test_environment_dimension_must_be_installed(db):
    assert_error(
        Environment(code="crm", label="CRM", dimension="shop.customer"),
        "dimension",
        "This model is not installed.",
    )


def test_environment_target_filter_is_checked_against_its_dimension(db):
    assert_error(
        Environment(
            code="crm",
            label="CRM",
            dimension="testapp.contact",
            target_filter=BAD_FILTER,
        ),
        "target_filter",
        "Unknown field “salary” on contact",
    )


def test_anonymous_environment_target_filter_uses_context_only(db):
    Environment(
        code="web",
        label="Web",
        target_filter={"field": "context.language", "op": "=", "value": "fr"},
    ).full_clean()
    assert_error(
        Environment(
            code="web",
            label="Web",
            target_filter={"field": "country", "op": "=", "value": "FR"},
        ),
        "target_filter",
        "this environment is anonymous",
    )


def test_environment_code_is_a_unique_slug(environment):
    assert_error(Environment(code="two words", label="X"), "code")
    assert_error(Environment(code="customers", label="Again"), "code", "already exists")


# Offer category ----------------------------------------------------------------


def test_valid_category(environment, category):
    OfferCategory(
        environment=environment,
        parent=category,
        code="gold",
        label="Gold",
        start_date=NOW,
        end_date=LATER,
        multiplier_start=NOW,
        multiplier_end=LATER,
        weight_multiplier=0,
        target_filter=GOOD_FILTER,
    ).full_clean()


@pytest.mark.parametrize(
    "fields, error_field, message",
    [
        (
            {"start_date": LATER, "end_date": NOW},
            "end_date",
            "The end must be after the start.",
        ),
        (
            {"multiplier_start": LATER, "multiplier_end": NOW},
            "multiplier_end",
            "The end must be after the start.",
        ),
        ({"weight_multiplier": -0.5}, "weight_multiplier", "cannot be negative"),
        ({"target_filter": BAD_FILTER}, "target_filter", "Unknown field “salary”"),
        (
            {"target_filter": {"field": "age", "op": "contains", "value": "1"}},
            "target_filter",
            "“age”: operator “contains”",
        ),
        ({"code": "no spaces!"}, "code", ""),
    ],
)
def test_category_rules(environment, fields, error_field, message):
    values = {"code": "gold", "label": "Gold", **fields}
    category = OfferCategory(environment=environment, **values)

    assert_error(category, error_field, message)


def test_category_code_is_unique_per_environment(environment, other_environment):
    make_category(environment, "cards")

    errors = errors_of(OfferCategory(environment=environment, code="cards", label="X"))
    assert "already exists" in " ".join(errors[NON_FIELD_ERRORS])
    OfferCategory(environment=other_environment, code="cards", label="X").full_clean()


def test_category_parent_must_be_in_the_same_environment(
    environment, other_environment
):
    foreign = make_category(other_environment, "foreign")

    assert_error(
        OfferCategory(environment=environment, parent=foreign, code="x", label="X"),
        "parent",
        "The parent category belongs to another environment.",
    )


def test_category_cannot_be_its_own_parent(category):
    category.parent = category

    assert_error(category, "parent", "cannot be placed below itself")


def test_category_cannot_move_below_its_descendant(environment):
    root = make_category(environment, "root")
    child = make_category(environment, "child", parent=root)
    grandchild = make_category(environment, "grandchild", parent=child)

    for descendant in (child, grandchild):
        root.parent = descendant
        assert_error(
            root,
            "parent",
            "A category cannot be placed below itself or its subcategories.",
        )
    root.refresh_from_db()
    assert root.parent is None


def test_category_tree_path_follows_codes_and_parents(environment):
    root = make_category(environment, "root")
    child = make_category(environment, "child", parent=root)
    grandchild = make_category(environment, "grandchild", parent=child)
    other_root = make_category(environment, "other")
    assert grandchild.tree_path == "root/child/grandchild"
    assert grandchild.depth == 2

    root.code = "top"
    root.save()

    child.refresh_from_db()
    grandchild.refresh_from_db()
    assert child.tree_path == "top/child"
    assert grandchild.tree_path == "top/child/grandchild"

    child.parent = other_root
    child.save()

    grandchild.refresh_from_db()
    assert grandchild.tree_path == "other/child/grandchild"
    assert list(
        OfferCategory.objects.filter(environment=environment).values_list(
            "tree_path", flat=True
        )
    ) == ["other", "other/child", "other/child/grandchild", "top"]


# Offer ---------------------------------------------------------------------------


def new_offer(category, **fields):
    values = {"code": "new-offer", "label": "New offer", **fields}
    return Offer(category=category, **values)


def test_valid_offer(category):
    new_offer(
        category,
        start_date=NOW,
        end_date=LATER,
        target_filter=GOOD_FILTER,
        destination_url="https://example.com/offer?x=1",
    ).full_clean()
    new_offer(category, destination_url="http://example.com/").full_clean()


@pytest.mark.parametrize(
    "fields, error_field, message",
    [
        ({"start_date": LATER, "end_date": NOW}, "end_date", "after the start"),
        ({"target_filter": BAD_FILTER}, "target_filter", "Unknown field “salary”"),
        (
            {"target_filter": {"field": "loyalty_tier", "op": "=", "value": "diamond"}},
            "target_filter",
            "'diamond' is not one of its choices",
        ),
        (
            {"target_filter": {"field": "offer.code", "op": "=", "value": "x"}},
            "target_filter",
            "offer fields cannot be used here",
        ),
        ({"destination_url": "ftp://example.com/file"}, "destination_url", ""),
        ({"destination_url": "javascript:alert(1)"}, "destination_url", ""),
        ({"destination_url": "example.com"}, "destination_url", ""),
    ],
)
def test_offer_rules(category, fields, error_field, message):
    assert_error(new_offer(category, **fields), error_field, message)


def test_offer_code_is_unique_per_environment(environment, other_environment):
    cards = make_category(environment, "cards")
    loans = make_category(environment, "loans")
    make_offer(cards, "gold-card")

    assert_error(
        new_offer(loans, code="gold-card"),
        "code",
        "Another offer of this environment has this code.",
    )
    new_offer(make_category(other_environment, "cards"), code="gold-card").full_clean()


def test_offer_keeps_its_own_code(offer):
    offer.label = "Renamed"
    offer.full_clean()


def test_offer_target_filter_follows_its_category_environment(
    environment, anonymous_environment
):
    visitors = make_category(anonymous_environment, "promos")
    country = {"field": "country", "op": "=", "value": "FR"}

    new_offer(make_category(environment, "cards"), target_filter=country).full_clean()
    assert_error(
        new_offer(visitors, target_filter=country),
        "target_filter",
        "this environment is anonymous",
    )


# Offer weight --------------------------------------------------------------------


def test_valid_weights(offer, space):
    for value in ("1", "2.5", "10 + age / 10", "context.basket * 0.01"):
        OfferWeight(
            offer=offer,
            value=value,
            space=space,
            start_date=NOW,
            end_date=LATER,
            target_filter=GOOD_FILTER,
        ).full_clean()


@pytest.mark.parametrize(
    "fields, error_field, message",
    [
        ({"value": "country * 2"}, "value", "“country” is not a number"),
        ({"value": "unknown + 1"}, "value", "Unknown field “unknown”"),
        ({"value": "__import__('os')"}, "value", "Only the functions"),
        ({"value": "age +"}, "value", "is not a valid formula"),
        ({"value": "2 ** 8"}, "value", "Only + - * / // % are allowed"),
        ({"value": "", "label": "x"}, "value", ""),
        ({"start_date": LATER, "end_date": NOW}, "end_date", "after the start"),
        ({"target_filter": BAD_FILTER}, "target_filter", "Unknown field “salary”"),
    ],
)
def test_weight_rules(offer, fields, error_field, message):
    assert_error(OfferWeight(offer=offer, **fields), error_field, message)


def test_weight_space_must_be_in_the_offer_environment(offer, other_environment):
    foreign = make_space(other_environment, "partner-banner")

    assert_error(
        OfferWeight(offer=offer, value="2", space=foreign),
        "space",
        "This space belongs to another environment.",
    )


def test_weight_validation_errors_name_every_field(environment, other_environment):
    foreign = make_space(other_environment, "partner-banner")
    weight = OfferWeight(
        value="country * 2",
        start_date=LATER,
        end_date=NOW,
        space=foreign,
        target_filter=BAD_FILTER,
    )

    errors = weight.validation_errors(environment)

    assert set(errors) == {"value", "end_date", "space", "target_filter"}


def test_weight_in_anonymous_environment_uses_context(anonymous_environment):
    offer = make_offer(make_category(anonymous_environment, "promos"), "promo")

    OfferWeight(offer=offer, value="context.basket / 10").full_clean()
    assert_error(
        OfferWeight(offer=offer, value="age / 10"),
        "value",
        "this environment is anonymous",
    )


# Offer space ---------------------------------------------------------------------


def new_space(environment, **fields):
    values = {"code": "new-space", "label": "New space", **fields}
    return OfferSpace(environment=environment, **values)


def test_valid_space(environment, anonymous_environment, category):
    fallback = make_space(anonymous_environment, "visitor-banner")
    new_space(
        environment,
        html_template="{% if offer.title %}<h2>{{ offer.title }}</h2>{% endif %}",
        text_template="{{ offer.title|upper }} {{ contact.first_name }}",
        max_offers=100,
        identification_fields="email, country",
        fallback_space=fallback,
        default_category=category,
    ).full_clean()
    new_space(environment, max_offers=1, identification_fields="").full_clean()


@pytest.mark.parametrize(
    "fields, error_field, message",
    [
        ({"html_template": "{% if %}<p>x</p>"}, "html_template", "Template error:"),
        ({"html_template": "{% for x in %}"}, "html_template", "Template error:"),
        ({"html_template": "{% if offer %}no end"}, "html_template", "endif"),
        (
            {"text_template": "{{ offer.title|no_such_filter }}"},
            "text_template",
            "no_such_filter",
        ),
        ({"text_template": "{% load no_such_lib %}"}, "text_template", "no_such_lib"),
        ({"max_offers": 0}, "max_offers", "Between 1 and 100 offers per call."),
        ({"max_offers": 101}, "max_offers", "Between 1 and 100 offers per call."),
        (
            {"identification_fields": "email, phone"},
            "identification_fields",
            "Unknown field(s) on contact: phone.",
        ),
        (
            {"identification_fields": "crm_id,loyalty"},
            "identification_fields",
            "crm_id, loyalty",
        ),
        ({"channel": "fax"}, "channel", ""),
        ({"initial_status": "lost"}, "initial_status", ""),
    ],
)
def test_space_rules(environment, fields, error_field, message):
    assert_error(new_space(environment, **fields), error_field, message)


def test_space_code_is_unique_site_wide(space, other_environment):
    assert_error(
        new_space(other_environment, code=space.code), "code", "already exists"
    )


def test_anonymous_space_does_not_check_identification_fields(anonymous_environment):
    new_space(anonymous_environment, identification_fields="anything").full_clean()


def test_fallback_space_must_be_anonymous(environment, other_environment):
    identified = make_space(other_environment, "partner-banner")

    assert_error(
        new_space(environment, fallback_space=identified),
        "fallback_space",
        "The fallback space must belong to an anonymous environment.",
    )


def test_space_cannot_fall_back_on_itself(space):
    space.fallback_space = space

    assert_error(space, "fallback_space", "A space cannot fall back on itself.")


def test_default_category_must_be_in_the_same_environment(
    environment, other_environment
):
    foreign = make_category(other_environment, "foreign")

    assert_error(
        new_space(environment, default_category=foreign),
        "default_category",
        "The default category belongs to another environment.",
    )


# Space content field -------------------------------------------------------------


def test_space_content_fields(space):
    SpaceContentField(space=space, field="title", required=True).full_clean()
    assert_error(SpaceContentField(space=space, field="price"), "field", "price")

    SpaceContentField.objects.create(space=space, field="image")
    errors = errors_of(SpaceContentField(space=space, field="image"))
    assert "already exists" in " ".join(errors[NON_FIELD_ERRORS])


# Typology rule -------------------------------------------------------------------


def new_rule(environment, **fields):
    values = {"code": "once-a-day", "label": "Once a day", **fields}
    return TypologyRule(environment=environment, **values)


def test_valid_rules(environment):
    new_rule(
        environment,
        period_days=0,
        period_hours=6,
        quantity=3,
        offer_condition={
            "all": [
                {"field": "offer.category", "op": "=", "value": "cards"},
                {"field": "offer.themes", "op": "contains", "value": "travel"},
            ]
        },
        contact_condition=GOOD_FILTER,
    ).full_clean()
    new_rule(environment, period_days=30, period_hours=0).full_clean()


@pytest.mark.parametrize(
    "fields, error_field, message",
    [
        (
            {"period_days": 0, "period_hours": 0},
            "period_hours",
            "The period must last at least one hour.",
        ),
        ({"quantity": 0}, "quantity", "The quantity must be at least 1."),
        ({"quantity": -1}, "quantity", ""),
        ({"period_days": -1}, "period_days", ""),
        (
            {"offer_condition": {"field": "offer.price", "op": ">", "value": 1}},
            "offer_condition",
            "Unknown offer field “offer.price”. Known offer fields: category,",
        ),
        (
            {"offer_condition": {"field": "offer.id", "op": "contains", "value": "1"}},
            "offer_condition",
            "“offer.id”: operator “contains”",
        ),
        (
            {"offer_condition": {"field": "context.page", "op": "=", "value": "/"}},
            "offer_condition",
            "call context fields cannot be used here",
        ),
        (
            {"contact_condition": {"field": "context.device", "op": "=", "value": "x"}},
            "contact_condition",
            "“context.device”: call context fields cannot be used here.",
        ),
        (
            {"contact_condition": {"field": "offer.code", "op": "=", "value": "x"}},
            "contact_condition",
            "offer fields cannot be used here",
        ),
        ({"contact_condition": BAD_FILTER}, "contact_condition", "“salary”"),
        ({"channel": "fax"}, "channel", ""),
        ({"counted_offers": "some"}, "counted_offers", ""),
    ],
)
def test_rule_rules(environment, fields, error_field, message):
    assert_error(new_rule(environment, **fields), error_field, message)


def test_rule_code_is_unique_per_environment(environment, other_environment):
    new_rule(environment).save()

    errors = errors_of(new_rule(environment))
    assert "already exists" in " ".join(errors[NON_FIELD_ERRORS])
    new_rule(other_environment).full_clean()


# What an editor sees in the admin ------------------------------------------------


def rule_form_data(environment, **overrides):
    data = {
        "environment": environment.pk,
        "label": "Once a day",
        "code": "once-a-day",
        "active": "on",
        "channel": "",
        "offer_condition": "",
        "contact_condition": "",
        "period_days": "1",
        "period_hours": "0",
        "quantity": "1",
        "counted_offers": "offer",
        "counted_statuses": "any",
    }
    data.update(overrides)
    return data


def space_form_data(environment, **overrides):
    data = {
        "environment": environment.pk,
        "label": "Sidebar",
        "code": "sidebar",
        "description": "",
        "channel": "web",
        "real_time": "on",
        "max_offers": "3",
        "default_category": "",
        "default_themes": "",
        "content_fields-TOTAL_FORMS": "0",
        "content_fields-INITIAL_FORMS": "0",
        "content_fields-MIN_NUM_FORMS": "0",
        "content_fields-MAX_NUM_FORMS": "1000",
        "html_template": "",
        "text_template": "",
        "identification_fields": "pk",
        "fallback_space": "",
        "store_propositions": "on",
        "initial_status": "proposed",
        "accepted_status": "accepted",
    }
    data.update(overrides)
    return data


def add_url(model):
    return reverse(model.snippet_viewset.get_url_name("add"))


def test_admin_rule_form_saves_a_valid_rule(admin_client, environment):
    response = admin_client.post(
        add_url(TypologyRule),
        rule_form_data(
            environment,
            offer_condition=json.dumps(
                {"field": "offer.category", "op": "=", "value": "cards"}
            ),
        ),
    )

    assert response.status_code == 302
    rule = TypologyRule.objects.get(code="once-a-day")
    assert rule.offer_condition == {
        "field": "offer.category",
        "op": "=",
        "value": "cards",
    }


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {
                "contact_condition": json.dumps(
                    {"field": "context.language", "op": "=", "value": "fr"}
                )
            },
            "“context.language”: call context fields cannot be used here.",
        ),
        (
            {
                "contact_condition": json.dumps(
                    {"field": "age", "op": "contains", "value": "1"}
                )
            },
            "“age”: operator “contains” does not apply to a number field.",
        ),
        (
            {
                "offer_condition": json.dumps(
                    {"field": "offer.price", "op": "=", "value": 1}
                )
            },
            "Unknown offer field “offer.price”.",
        ),
        ({"period_days": "0", "period_hours": "0"}, "The period must last at least"),
        ({"quantity": "0"}, "The quantity must be at least 1."),
    ],
)
def test_admin_rule_form_shows_the_error(admin_client, environment, overrides, message):
    response = admin_client.post(
        add_url(TypologyRule), rule_form_data(environment, **overrides)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TypologyRule.objects.exists()


def test_admin_space_form_shows_a_template_error(admin_client, environment):
    response = admin_client.post(
        add_url(OfferSpace),
        space_form_data(environment, html_template="{% if %}<p>{{ offer.title }}</p>"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Template error:" in html
    assert "could not be created due to errors." in html
    assert not OfferSpace.objects.filter(code="sidebar").exists()


def test_admin_space_form_shows_an_identification_error(admin_client, environment):
    response = admin_client.post(
        add_url(OfferSpace),
        space_form_data(environment, identification_fields="email, phone"),
    )

    assert response.status_code == 200
    assert "Unknown field(s) on contact: phone." in response.content.decode()
    assert not OfferSpace.objects.filter(code="sidebar").exists()


def test_admin_space_form_saves_a_valid_space(admin_client, environment):
    response = admin_client.post(
        add_url(OfferSpace),
        space_form_data(environment, html_template="<p>{{ offer.title }}</p>"),
    )

    assert response.status_code == 302
    assert OfferSpace.objects.get(code="sidebar").html_template == (
        "<p>{{ offer.title }}</p>"
    )


def test_admin_offer_form_refuses_spaces_of_another_environment(
    admin_client, offer, other_environment
):
    foreign = make_space(other_environment, "partner-banner")
    edit_url = url(Offer, "edit", offer)
    data = admin_form_data(admin_client, edit_url, spaces=[str(foreign.pk)])

    response = admin_client.post(edit_url, data)

    assert response.status_code == 200
    # Not even offered: the spaces listed are the offer's environment's.
    assert "is not one of the available choices" in response.content.decode()
    assert list(Offer.objects.get(pk=offer.pk).spaces.all()) != [foreign]
