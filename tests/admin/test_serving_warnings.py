"""Warnings before silence: an object that would not be served now says why,
in its listing and at the top of its edit view (the approver's too)."""

import datetime
import re

import pytest
from django.utils import timezone

from interaction.delivery.serving import (
    category_warnings,
    offer_warnings,
    space_warnings,
)
from interaction.models import (
    Offer,
    OfferCategory,
    OfferSpace,
    SpaceContentField,
    TypologyRule,
)
from tests.builders import (
    add_weight,
    ask,
    codes,
    make_category,
    make_offer,
    make_rule,
    make_space,
    publish,
    url,
)

PAST = timezone.now() - datetime.timedelta(days=30)
YESTERDAY = timezone.now() - datetime.timedelta(days=1)


def warnings_of(offer):
    return offer_warnings([Offer.objects.get(pk=offer.pk)])[offer.pk]


def test_a_served_offer_has_no_warning(offer, space, contact):
    assert warnings_of(offer) == []
    assert codes(ask(space, contact)) == ["gold-card"]


def test_an_offer_under_an_unpublished_category(environment, space, contact):
    parent = make_category(environment, "cards", live=False)
    child = make_category(environment, "gold", parent=parent)
    offer = make_offer(child, spaces=[space])

    assert warnings_of(offer) == [
        "Not served: the category “Cards” above it is not published."
    ]
    assert codes(ask(space, contact)) == []


def test_an_offer_under_a_disabled_category(environment, space):
    offer = make_offer(make_category(environment, enabled=False), spaces=[space])

    assert warnings_of(offer) == ["Not served: the category “Cards” is disabled."]


def test_an_offer_whose_dates_are_past(category, space, contact):
    offer = make_offer(category, spaces=[space], start_date=PAST, end_date=YESTERDAY)

    (warning,) = warnings_of(offer)

    assert warning.startswith("Not served: its eligibility dates")
    assert "ended on" in warning
    assert codes(ask(space, contact)) == []


def test_an_offer_of_a_category_whose_dates_are_past(environment, space):
    category = make_category(environment, start_date=PAST, end_date=YESTERDAY)
    offer = make_offer(category, spaces=[space])

    assert "ended on" in warnings_of(offer)[0]
    assert "ended on" in category_warnings([category])[category.pk][0]


def test_an_offer_without_a_live_space(environment, category):
    draft = make_space(environment, "draft-space", live=False)

    assert warnings_of(make_offer(category, "none")) == [
        "Not served: it is published on no space."
    ]
    assert warnings_of(make_offer(category, "draft", spaces=[draft])) == [
        "Not served: none of its spaces is published (Draft-Space)."
    ]


def test_an_offer_lacking_a_spaces_required_content(environment, category):
    space = make_space(environment, "hero", live=False)
    SpaceContentField.objects.create(space=space, field="title", required=True)
    offer = make_offer(category, "bare", live=False)
    offer.spaces.set([space])
    offer.save()
    publish(space)
    # Published while the space did not require the title yet (e.g. through
    # an import), or the space asked for it since.
    Offer.objects.filter(pk=offer.pk).update(live=True)

    assert warnings_of(offer) == ["Not served in “Hero”: the space requires Title."]


@pytest.mark.parametrize(
    "values, warned",
    [(["0"], True), (["-1", "0"], True), (["0", "2"], False), (["age - 40"], False)],
)
def test_an_offer_whose_weight_is_never_positive(offer, values, warned):
    for value in values:
        add_weight(offer, value)

    warnings = warnings_of(offer)

    assert warnings == (
        ["Not served: its weight is 0 or less for every contact."] if warned else []
    )


def test_an_unpublished_category_with_live_offers(environment, space):
    category = make_category(environment, live=False)
    make_offer(category, spaces=[space])

    assert category_warnings([category])[category.pk] == [
        "Not published: its 1 live offer is not served."
    ]


def test_space_warnings(environment, anonymous_environment, category, offer, space):
    empty = make_space(environment, "empty")
    visitors = make_space(anonymous_environment, "visitors", live=False)
    draft = make_category(environment, "draft-cat", live=False)
    OfferSpace.objects.filter(pk=space.pk).update(
        fallback_space=visitors, default_category=draft
    )

    warnings = space_warnings(OfferSpace.objects.filter(pk__in=[space.pk, empty.pk]))

    assert warnings[empty.pk] == [
        "No live offer is published on this space: calls get nothing."
    ]
    assert warnings[space.pk] == [
        "Its fallback space “Visitors” is not published: contacts who are not "
        "identified get nothing.",
        "Its default category “Draft-Cat” is not published: calls that ask for "
        "no category or theme get nothing.",
    ]


# In the admin ----------------------------------------------------------------------


@pytest.fixture
def silent_offer(environment, space):
    """A live offer under a category still in draft: live, never served."""
    category = make_category(environment, "new-cards", live=False)
    return make_offer(category, "silent", spaces=[space])


WARNING = "Not served: the category “New-Cards” above it is not published."


@pytest.mark.parametrize("role", ["manager", "approver", "administrator"])
def test_the_listing_shows_the_warning(client, role_user, silent_offer, offer, role):
    client.force_login(role_user(role))

    html = client.get(url(Offer, "list")).content.decode()

    assert html.count(WARNING) == 1


def test_the_edit_view_shows_the_warning_on_top(client, role_user, silent_offer):
    client.force_login(role_user("manager"))

    html = client.get(url(Offer, "edit", silent_offer)).content.decode()

    assert WARNING in html
    assert html.index(WARNING) < html.index('id="w-editor-form"')


def test_the_approver_sees_the_warning_before_approving(
    client, role_user, silent_offer
):
    offer = Offer.objects.get(pk=silent_offer.pk)
    offer.save_revision()
    offer.get_default_workflow().start(offer, role_user("manager"))
    client.force_login(role_user("approver"))

    html = client.get(url(Offer, "edit", offer)).content.decode()

    assert WARNING in html


def test_category_and_space_listings_show_their_warnings(
    client, role_user, silent_offer, environment
):
    make_space(environment, "empty")
    client.force_login(role_user("administrator"))

    categories = client.get(url(OfferCategory, "list")).content.decode()
    spaces = client.get(url(OfferSpace, "list")).content.decode()

    assert "Not published: its 1 live offer is not served." in categories
    assert "No live offer is published on this space" in spaces
    make_rule(environment, "weekly")
    rules = client.get(url(TypologyRule, "list")).content.decode()
    for html in (categories, spaces, rules):
        # Yes/no columns as Wagtail's icons, not "True"/"False".
        cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", html)
        assert cells and "True" not in cells and "False" not in cells


def test_the_category_listing_links_to_edit_and_has_the_action_menu(
    client, role_user, environment, category
):
    child = make_category(environment, "gold", parent=category)
    client.force_login(role_user("manager"))

    html = client.get(url(OfferCategory, "list")).content.decode()

    assert f'href="{url(OfferCategory, "edit", child)}"' in html
    assert "↳ " in html  # the tree, indented
    assert f"More options for &#x27;{child.label}&#x27;" in html
    # Found in the demo: the tree took the bulk actions' checkbox column's
    # place and the label stayed a second title column (two links, two action
    # menus a row, the label squeezed into a word a line).
    assert html.count(f"More options for &#x27;{child.label}&#x27;") == 1
    assert f'aria-describedby="snippet_{child.pk}_title"' in html
    assert f'id="snippet_{child.pk}_title"' in html
