"""Objects of an environment a user does not work in never show in the admin.

An attack from a user of environment A read labels of environment B's
objects in the snippet choosers, the listing filters, the weight row's space
select and the approver's dashboard. Every one of them is replayed here.
"""

import pytest
from django.urls import reverse
from wagtail.models import Workflow

from interaction.models import Offer, OfferCategory, OfferSpace
from tests.builders import make_category, make_offer, make_space, url


@pytest.fixture
def foreign(other_environment):
    """Environment B's objects, with labels that must never show to A's users."""
    category = make_category(other_environment, "secret-b-category")
    space = make_space(other_environment, "secret-b-space")
    offer = make_offer(category, "secret-b-offer", spaces=[space])
    return {"category": category, "space": space, "offer": offer}


def chooser_url(model, view="choose", *args):
    return reverse(
        f"wagtailsnippetchoosers_interaction_{model._meta.model_name}:{view}", args=args
    )


@pytest.mark.parametrize("role", ["manager", "approver", "delivery"])
@pytest.mark.parametrize("model", [Offer, OfferCategory, OfferSpace])
def test_snippet_choosers_list_and_return_only_the_users_environments(
    client, role_user, offer, foreign, role, model
):
    client.force_login(role_user(role))
    mine = {
        Offer: offer,
        OfferCategory: offer.category,
        OfferSpace: offer.spaces.get(),
    }[model]
    theirs = foreign[
        {Offer: "offer", OfferCategory: "category", OfferSpace: "space"}[model]
    ]

    listing = client.get(chooser_url(model))
    results = client.get(chooser_url(model, "choose_results"), {"q": "secret"})
    chosen = client.get(chooser_url(model, "chosen", theirs.pk))
    several = client.get(
        chooser_url(model, "chosen_multiple"), {"id": [theirs.pk, mine.pk]}
    )

    assert listing.status_code == 200
    assert mine.label in listing.content.decode()
    assert "secret-b" not in listing.content.decode().lower()
    assert "secret-b" not in results.content.decode().lower()
    assert chosen.status_code == 404
    assert "secret-b" not in several.content.decode().lower()
    assert client.get(chooser_url(model, "chosen", mine.pk)).status_code == 200


@pytest.mark.parametrize("model", [Offer, OfferCategory, OfferSpace])
def test_listing_filters_offer_only_the_users_environments(
    client, role_user, offer, foreign, model
):
    client.force_login(role_user("manager"))

    page = client.get(url(model, "list")).content.decode()

    assert "secret-b" not in page.lower()
    assert "Partners" not in page  # the other environment's label


def test_a_weight_row_lists_only_the_users_spaces(client, role_user, offer, foreign):
    client.force_login(role_user("manager"))

    page = client.get(url(Offer, "edit", offer)).content.decode()

    assert offer.spaces.get().label in page
    assert "secret-b" not in page.lower()


def test_approvers_see_and_act_only_on_their_environments_tasks(
    client, role_user, django_user_model, offer, foreign
):
    workflow = Workflow.objects.get(name="Offer approval")
    submitter = django_user_model.objects.create_superuser("submitter", password="x")
    for obj in (offer, foreign["offer"]):
        obj.save_revision(user=submitter)
        workflow.start(obj, submitter)
    approver = role_user("approver")
    client.force_login(approver)

    home = client.get(reverse("wagtailadmin_home")).content.decode()

    assert offer.label in home
    assert "secret-b" not in home.lower()
    theirs = Offer.objects.get(pk=foreign["offer"].pk)
    task = theirs.current_workflow_task
    assert task.specific.get_actions(theirs, approver) == []
    assert task.specific.get_actions(offer, approver) != []


def test_site_history_shows_only_the_users_environments(
    client, role_user, offer, foreign
):
    client.force_login(role_user("manager"))

    page = client.get(reverse("wagtailadmin_reports:site_history")).content.decode()

    assert offer.label in page
    assert "secret-b" not in page.lower()


def test_an_objects_history_still_shows_its_entries(client, role_user, offer):
    client.force_login(role_user("manager"))

    page = client.get(url(Offer, "history", offer)).content.decode()

    assert "Published" in page
