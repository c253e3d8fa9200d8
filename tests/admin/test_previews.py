"""Previews: an offer in each of its spaces; a space for a chosen contact."""

import re
from html import unescape

from django.urls import reverse

from tests.builders import make_contact, make_offer, make_space


def preview_url(space, **params):
    from urllib.parse import urlencode

    return (
        reverse("interaction_space_preview", args=[space.pk]) + "?" + urlencode(params)
    )


def seniors_offer(category, space):
    """An offer on ``space`` for contacts aged 65 or more."""
    return make_offer(
        category,
        "seniors",
        spaces=[space],
        title="Seniors",
        target_filter={"field": "age", "op": ">=", "value": 65},
    )


def test_space_preview_lists_kept_and_dropped_offers_with_reasons(
    admin_client, category, space, contact
):
    make_offer(category, "for-all", spaces=[space], title="For everyone")
    seniors_offer(category, space)

    response = admin_client.get(preview_url(space, contact=contact.pk, count=3))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Contact identified." in html
    assert "for-all" in html and "For everyone" in html
    assert "dropped: contact does not match the target filter of the offer" in html


def test_space_preview_says_when_the_contact_is_unknown(admin_client, space):
    response = admin_client.get(preview_url(space, contact="999999", count=1))

    assert "not found and the space has no fallback anonymous space" in (
        response.content.decode()
    )


def test_space_preview_is_refused_to_offer_managers(client, role_user, space):
    client.force_login(role_user("manager"))

    response = client.get(preview_url(space, count=1))

    assert response.status_code == 302


def test_space_listing_links_to_the_preview(admin_client, space):
    response = admin_client.get(
        reverse(type(space).snippet_viewset.get_url_name("list"))
    )

    assert (
        reverse("interaction_space_preview", args=[space.pk])
        in response.content.decode()
    )


def test_offer_preview_has_a_mode_per_space(rf, admin_user, category, environment):
    web = make_space(
        environment, "web-banner", html_template="<b>{{ offer.title }}</b>"
    )
    mail = make_space(environment, "mail-block", channel="email")
    offer = make_offer(category, "duo", spaces=[web, mail], title="Duo offer")

    assert [mode for mode, _label in offer.preview_modes] == [
        "",
        "mail-block",
        "web-banner",
    ]
    request = rf.get("/")
    request.user = admin_user
    response = offer.serve_preview(request, "web-banner")

    html = response.rendered_content
    assert "<b>Duo offer</b>" in html
    # Only this space's rendering (the review above lists every space).
    assert "Mail-Block ·" not in html


def test_space_preview_reports_bad_context_json(admin_client, space):
    response = admin_client.get(preview_url(space, count=1, context="{nope"))

    assert response.status_code == 200
    assert "Not valid JSON" in response.content.decode()


def test_space_preview_finds_a_contact_and_links_to_its_preview(
    admin_client, category, space
):
    hopper = make_contact(first_name="Grace", last_name="Hopper", age=70)
    make_contact(last_name="Lamarr")
    seniors_offer(category, space)

    html = admin_client.get(preview_url(space, find="hopp")).content.decode()
    links = re.findall(r'<a href="(\?[^"]*contact=[^"]*)">([^<]*)</a>', html)

    assert [unescape(label) for _link, label in links] == [str(hopper)]
    result = admin_client.get(preview_url(space) + unescape(links[0][0])[1:])
    assert "Contact identified." in result.content.decode()
    assert "#1 Seniors" in result.content.decode()
