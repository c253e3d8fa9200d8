"""The space preview's trace reads like a report: offers by label with a link,
weights written one way, and a notice for what the call did unasked (a count
capped by the space, an unknown contact served as anonymous)."""

import re
from urllib.parse import urlencode

from django.urls import reverse

from interaction.models import Offer, OfferSpace
from tests.builders import add_weight, make_category, make_offer, make_space, url


def preview(client, space, **params):
    return client.get(
        reverse("interaction_space_preview", args=[space.pk]) + "?" + urlencode(params)
    ).content.decode()


def test_offers_show_by_label_linked_with_weights_one_way(
    admin_client, category, space, contact
):
    whole = make_offer(category, "whole", spaces=[space])
    add_weight(whole, "27")
    add_weight(make_offer(category, "tenths", spaces=[space]), "12.9")
    add_weight(make_offer(category, "half", spaces=[space]), "0.5")
    dropped = make_offer(
        category,
        "seniors",
        spaces=[space],
        target_filter={"field": "age", "op": ">=", "value": 65},
    )

    html = preview(admin_client, space, contact=contact.pk, count=3)

    assert f'<a href="{url(Offer, "edit", whole)}">Whole</a> <code>whole</code>' in html
    assert f'<a href="{url(Offer, "edit", dropped)}">Seniors</a>' in html
    cells = re.findall(r"<td>(\d+\.\d+)</td>", html)
    assert cells == ["27.00", "12.90", "0.50"]


def test_a_count_capped_by_the_space_is_said(admin_client, category, contact):
    space = make_space(category.environment, "narrow", max_offers=1)
    make_offer(category, "one", spaces=[space])

    html = preview(admin_client, space, contact=contact.pk, count=5)

    assert "5 offers were asked for; this space shows at most 1" in html


def test_an_unknown_contact_served_as_anonymous_is_said(
    admin_client, environment, anonymous_environment
):
    visitors = make_space(anonymous_environment, "visitors")
    make_offer(make_category(anonymous_environment, "promos"), spaces=[visitors])
    space = make_space(environment, "members", live=False)
    OfferSpace.objects.filter(pk=space.pk).update(fallback_space=visitors)
    space = OfferSpace.objects.get(pk=space.pk)
    space.save_revision().publish()

    html = preview(admin_client, space, contact="999999", count=1)

    assert (
        "Contact “999999” not found: served as an anonymous visitor through the "
        "fallback space “visitors”." in html
    )
