"""Weight rows are checked when the offer form is saved: a formula or a
condition naming a field the dimension does not have is a form error on the
row, and nothing is saved (drafts included)."""

import re

import pytest

from interaction.models import Offer
from tests.builders import admin_form_data, url


def _with_weight_row(data, **row):
    data.update(
        {
            "weights-TOTAL_FORMS": "1",
            "weights-INITIAL_FORMS": "0",
            "weights-0-label": row.pop("label", "Loyalty"),
            "weights-0-value": row.pop("value", "1"),
            "weights-0-ORDER": "1",
            **{f"weights-0-{name}": value for name, value in row.items()},
        }
    )
    return data


def _errors(response) -> str:
    html = response.content.decode()
    return " ".join(re.findall(r'class="error-message"[^>]*>(.*?)</', html, re.S))


@pytest.mark.parametrize(
    "value, message",
    [
        ("10 + loyalty_points / 100", "Unknown field “loyalty_points” on contact"),
        ("country * 2", "“country” is not a number"),
        ("age +", "is not a valid formula"),
    ],
)
def test_a_formula_with_an_unknown_field_is_a_form_error(
    client, role_user, offer, value, message
):
    client.force_login(role_user("manager"))
    edit_url = url(Offer, "edit", offer)
    revisions = offer.revisions.count()

    response = client.post(
        edit_url, _with_weight_row(admin_form_data(client, edit_url), value=value)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "The offer could not be saved due to errors." in response.content.decode()
    assert offer.revisions.count() == revisions
    assert not offer.weights.exists()


def test_a_weight_condition_with_an_unknown_field_is_a_form_error(
    client, role_user, offer
):
    client.force_login(role_user("manager"))
    edit_url = url(Offer, "edit", offer)

    response = client.post(
        edit_url,
        _with_weight_row(
            admin_form_data(client, edit_url),
            value="2",
            target_filter='{"field": "salary", "op": ">", "value": 1}',
        ),
    )

    assert response.status_code == 200
    assert "Unknown field “salary” on contact" in response.content.decode()


def test_a_formula_over_numeric_fields_and_context_is_saved(client, role_user, offer):
    client.force_login(role_user("manager"))
    edit_url = url(Offer, "edit", offer)

    response = client.post(
        edit_url,
        _with_weight_row(
            admin_form_data(client, edit_url), value="10 + age / 10 + context.basket"
        ),
    )

    assert response.status_code == 302
    draft = Offer.objects.get(pk=offer.pk).get_latest_revision_as_object()
    assert [row.value for row in draft.weights.all()] == [
        "10 + age / 10 + context.basket"
    ]


def test_a_new_offer_with_a_bad_formula_is_not_created(client, role_user, category):
    client.force_login(role_user("manager"))
    add_url = url(Offer, "add")
    data = admin_form_data(client, add_url, category=str(category.pk))
    data.update({"label": "New", "code": "new-offer"})

    response = client.post(
        add_url, _with_weight_row(data, value="loyalty_points / 100")
    )

    assert response.status_code == 200
    assert "Unknown field “loyalty_points”" in response.content.decode()
    assert not Offer.objects.filter(code="new-offer").exists()


def test_the_formula_help_names_no_field_the_contact_lacks(client, role_user, offer):
    client.force_login(role_user("manager"))

    html = client.get(url(Offer, "edit", offer)).content.decode()

    assert "loyalty_points" not in html
    assert "numeric fields (age" in html
    assert "“10 + age / 10”" in html
