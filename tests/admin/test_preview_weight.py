"""The offer preview's weight check: the weight each row and the offer as
edited (unsaved form state) give the contact chosen for the preview, and how
that contact is chosen (a POST with the CSRF token; a GET only lists)."""

import html as html_lib
import json
import re

from django.urls import reverse

from interaction.models import Offer
from tests.builders import (
    add_weight,
    admin_form_data,
    make_category,
    make_contact,
    make_offer,
    make_space,
    url,
)


def choose_url(environment, **params):
    from urllib.parse import urlencode

    base = reverse("interaction_preview_contact", args=[environment.pk])
    return base + "?" + urlencode(params)


def choose(client, environment, **data):
    """Post the preview's contact form (``q``, ``choose`` or ``clear``)."""
    return client.post(
        reverse("interaction_preview_contact", args=[environment.pk]), data
    )


def preview(client, offer, data, mode=""):
    """Post the edit form's state to the preview, as Wagtail's panel does,
    then render the preview."""
    preview_url = url(Offer, "preview_on_edit", offer)
    answer = client.post(preview_url, data)
    assert json.loads(answer.content)["is_valid"], answer.content
    return client.get(preview_url, {"mode": mode}).content.decode()


def text(html: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_preview_shows_the_weight_of_each_row_and_of_the_offer_for_the_contact(
    admin_client, environment, offer, space
):
    ada = make_contact(first_name="Ada", last_name="Byron", age=36, country="GB")
    add_weight(offer, "1", label="Base", sort_order=0)
    add_weight(
        offer,
        "10 + age / 10",
        label="Adults",
        sort_order=1,
        target_filter={"field": "age", "op": ">=", "value": 18},
    )
    add_weight(
        offer,
        "100",
        label="French",
        sort_order=2,
        target_filter={"field": "country", "op": "=", "value": "FR"},
    )
    add_weight(offer, "context.basket * 2", label="Basket", sort_order=3)
    edit_url = url(Offer, "edit", offer)
    data = admin_form_data(admin_client, edit_url)
    # Unsaved edit: the adults' row now gives 20 + age.
    adults = next(k for k, v in data.items() if k.endswith("-label") and v == "Adults")
    data[adults.replace("-label", "-value")] = "20 + age"

    chosen = choose(
        admin_client, environment, q="Byron", next=url(Offer, "edit", offer)
    )
    html = text(preview(admin_client, offer, data))

    assert chosen.status_code == 302
    assert f"For {ada} (#{ada.pk}), now:" in html
    assert "Base 1 gives 1.00" in html
    assert "Adults 20 + age gives 56.00" in html
    assert "French 100 does not apply: the contact does not match its condition" in html
    assert (
        "Basket context.basket * 2 gives 0.00 (reads the call context, empty here)"
        in html
    )
    assert f"{space.label}: weight 56.00" in html
    # Nothing was saved by the preview.
    offer.refresh_from_db()
    assert offer.weights.get(label="Adults").value == "10 + age / 10"


def test_preview_says_why_the_offer_is_not_eligible_for_the_contact(
    admin_client, environment, offer, space
):
    make_contact(last_name="Turing", country="GB")
    data = admin_form_data(admin_client, url(Offer, "edit", offer))
    data["target_filter"] = json.dumps({"field": "country", "op": "=", "value": "FR"})
    choose(admin_client, environment, q="Turing")

    html = text(preview(admin_client, offer, data, mode=space.code))

    assert (
        f"{space.label}: not eligible — contact does not match the target filter "
        "of the offer" in html
    )


def test_preview_asks_for_a_contact_until_one_is_chosen(admin_client, offer):
    data = admin_form_data(admin_client, url(Offer, "edit", offer))

    html = text(preview(admin_client, offer, data))

    assert "Choose a contact to see the weight this offer" in html


def test_contact_search_lists_the_matches_to_choose_from(admin_client, environment):
    first = make_contact(last_name="Hopper")
    make_contact(last_name="Hopper")
    make_contact(last_name="Lamarr")

    searched = choose(admin_client, environment, q="hopp", next="/admin/")
    response = admin_client.get(searched.url)
    html = response.content.decode()

    # Two matches: the listing, which a GET shows.
    assert searched.url == choose_url(environment, q="hopp", next="/admin/")
    assert response.status_code == 200
    assert html.count('name="choose"') == 2
    assert f'name="choose" value="{first.pk}"' in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert "Lamarr" not in html
    assert "interaction_preview_contacts" not in admin_client.session
    chosen = choose(admin_client, environment, choose=first.pk, next="/admin/")
    assert chosen.status_code == 302 and chosen.url == "/admin/"
    assert admin_client.session["interaction_preview_contacts"] == {
        str(environment.pk): str(first.pk)
    }


def test_contact_search_is_refused_outside_the_users_environments(
    client, role_user, other_environment
):
    make_contact(last_name="Hopper")
    client.force_login(role_user("manager"))

    response = client.get(choose_url(other_environment, q="Hopper"))
    chosen = choose(client, other_environment, q="Hopper")

    assert response.status_code == 404
    assert chosen.status_code == 404
    assert "interaction_preview_contacts" not in client.session


def test_contact_search_never_returns_to_another_site(admin_client, environment):
    contact = make_contact(last_name="Hopper")

    response = choose(
        admin_client, environment, choose=contact.pk, next="https://evil.example/"
    )

    assert response.status_code == 302
    assert "evil" not in response.url


def test_a_choice_without_next_returns_to_the_same_site_page_it_came_from(
    admin_client, environment
):
    """Without ``next``, the page the search came from (its Referer), if it is
    on this site: a link followed from elsewhere never leads back there."""
    contact = make_contact(last_name="Hopper")
    here = "http://testserver/admin/snippets/interaction/offer/preview/"

    back = admin_client.post(
        choose_url(environment), {"choose": contact.pk}, HTTP_REFERER=here
    )
    elsewhere = admin_client.post(
        choose_url(environment), {"clear": 1}, HTTP_REFERER="https://evil.example/x"
    )

    assert back.status_code == 302
    assert back.url == here
    assert elsewhere.status_code == 302
    assert elsewhere.url.startswith(choose_url(environment).split("?")[0])
    assert (
        str(environment.pk) not in admin_client.session["interaction_preview_contacts"]
    )


def test_approvers_may_choose_a_contact_and_users_without_offers_may_not(
    client, role_user, environment, django_user_model
):
    from django.contrib.auth.models import Permission

    make_contact(last_name="Hopper")
    client.force_login(role_user("approver"))
    assert choose(client, environment, q="Hopp").status_code == 302
    assert str(environment.pk) in client.session["interaction_preview_contacts"]

    editor = django_user_model.objects.create_user("editor", password="pw")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    environment.users.add(editor)
    client.force_login(editor)
    response = choose(client, environment, q="Hopp")
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


def test_contact_search_by_id_chooses_that_contact(admin_client, environment):
    make_contact(last_name="Hopper")
    wanted = make_contact(last_name="Lamarr")
    # Another contact whose e-mail contains the id.
    make_contact(email=f"agent{wanted.pk}@example.com")

    response = choose(admin_client, environment, q=str(wanted.pk), next="/admin/")

    assert response.status_code == 302
    assert admin_client.session["interaction_preview_contacts"] == {
        str(environment.pk): str(wanted.pk)
    }


def test_preview_of_an_anonymous_environments_offer_needs_no_contact(
    admin_client, anonymous_environment
):
    space = make_space(anonymous_environment, "visitor-banner")
    category = make_category(anonymous_environment)
    offer = add_weight(make_offer(category, "welcome", spaces=[space]), "7")
    data = admin_form_data(admin_client, url(Offer, "edit", offer))

    html = text(preview(admin_client, offer, data))

    assert "For every visitor (anonymous environment), now:" in html
    assert f"{space.label}: weight 7.00" in html
    assert "Choose a contact" not in html


def test_a_get_to_the_choose_or_clear_url_changes_nothing(admin_client, environment):
    """A link or an image on another site must not change an admin's preview
    contact: only a POST does."""
    hopper = make_contact(last_name="Hopper")
    lamarr = make_contact(last_name="Lamarr")
    choose(admin_client, environment, choose=hopper.pk)
    kept = {str(environment.pk): str(hopper.pk)}

    for params in (
        {"choose": lamarr.pk, "next": "/admin/"},
        {"clear": 1, "next": "/admin/"},
        {"q": "Lamarr", "next": "/admin/"},
        {"q": str(lamarr.pk)},
    ):
        response = admin_client.get(choose_url(environment, **params))
        assert response.status_code == 200, params
        assert admin_client.session["interaction_preview_contacts"] == kept, params

    # The listing a GET shows still offers the match, to choose by a POST.
    listed = admin_client.get(choose_url(environment, q=str(lamarr.pk)))
    assert f'name="choose" value="{lamarr.pk}"' in listed.content.decode()


def test_choosing_needs_the_csrf_token_the_preview_form_carries(
    admin_user, environment, offer
):
    """With CSRF checks on, as in a browser: a POST without the token is
    refused; the form of the preview (drawn by Wagtail through a request of
    its own) carries a token that is accepted."""
    from django.test import Client

    hopper = make_contact(last_name="Hopper")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    data = admin_form_data(client, url(Offer, "edit", offer))
    assert data.get("csrfmiddlewaretoken")

    forged = choose(client, environment, q="Hopper", next="/admin/")
    assert forged.status_code == 403
    assert "interaction_preview_contacts" not in client.session

    html = preview(client, offer, data)
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S
    )
    assert form is not None
    assert form.group(1) == reverse(
        "interaction_preview_contact", args=[environment.pk]
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(2))
    assert token is not None
    chosen = client.post(
        form.group(1),
        {"csrfmiddlewaretoken": token.group(1), "q": "Hopper", "next": "/admin/"},
    )
    assert chosen.status_code == 302 and chosen.url == "/admin/"
    assert str(environment.pk) in client.session["interaction_preview_contacts"]
    chosen_html = preview(client, offer, data)
    assert f"For {hopper} (#{hopper.pk}), now:" in text(chosen_html)
    clear = re.search(
        r'<form id="weight-contact-clear" method="post" action="([^"]+)"[^>]*>'
        r"(.*?)</form>",
        chosen_html,
        re.S,
    )
    assert clear is not None and 'form="weight-contact-clear"' in chosen_html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', clear.group(2))
    cleared = client.post(
        clear.group(1), {"csrfmiddlewaretoken": token.group(1), "clear": "1"}
    )
    assert cleared.status_code == 302
    assert client.session["interaction_preview_contacts"] == {}


def test_the_contact_list_shows_in_the_preview_panel(admin_client, environment):
    """A search matching several contacts lists them where the search was
    made: inside Wagtail's preview panel, an iframe of this site."""
    make_contact(last_name="Hopper")
    make_contact(last_name="Hopper")

    response = admin_client.get(choose_url(environment, q="Hopper"))

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response.content.decode().count("Hopper") >= 2
