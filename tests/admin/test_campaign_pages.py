"""Campaign pages (SPEC §6): validation, the spec a run reads, who may work on
them, the delivery rendered for one contact, and its previews."""

import datetime
import json
import re
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.models import GroupPagePermission, Page

from interaction.campaigns.content import render_body
from interaction.campaigns.spec import CampaignSpec
from interaction.engine.call import MAX_COUNT
from interaction.models import CampaignIndexPage, CampaignPage, Environment
from interaction.roles import DELIVERY_MANAGERS
from tests.builders import (
    DIMENSION,
    NOW,
    add_weight,
    admin_form_data,
    assert_refused,
    campaigns_index,
    make_campaign,
    make_category,
    make_contact,
    make_offer,
    make_space,
    record,
)

# -- Helpers ---------------------------------------------------------------------


def add_url(index=None):
    index = index or campaigns_index()
    return reverse(
        "wagtailadmin_pages:add", args=["interaction", "campaignpage", index.pk]
    )


def edit_url(page):
    return reverse("wagtailadmin_pages:edit", args=[page.pk])


def preview_url(page, contact=None):
    url = reverse("interaction_campaign_preview", args=[page.pk])
    return url if contact is None else f"{url}?contact={contact}"


def body(*blocks):
    """A StreamField body: ``("text", "<p>…</p>")`` or ``("offer", rank)``."""
    data = []
    for kind, value in blocks:
        if kind == "offer":
            data.append({"type": "offer", "value": {"rank": value}})
        else:
            data.append({"type": "paragraph", "value": value})
    return json.dumps(data)


def streamfield_post(blocks):
    """The admin form fields of a body (Wagtail's StreamField POST format)."""
    fields = {"body-count": str(len(blocks))}
    for index, (kind, value) in enumerate(blocks):
        prefix = f"body-{index}"
        fields.update(
            {f"{prefix}-type": kind, f"{prefix}-deleted": "", f"{prefix}-order": index}
        )
        if kind == "offer":
            fields[f"{prefix}-value-rank"] = str(value)
        else:
            fields[f"{prefix}-value"] = json.dumps(
                {
                    "blocks": [
                        {
                            "key": f"k{index}",
                            "text": value,
                            "type": "unstyled",
                            "depth": 0,
                            "inlineStyleRanges": [],
                            "entityRanges": [],
                        }
                    ],
                    "entityMap": {},
                }
            )
    return fields


def campaign_form(client, url=None, **changes):
    """The add form as a browser would post it, with a title and ``changes``."""
    defaults = {"title": "Summer mailing", "slug": "summer-mailing"}
    defaults.update(streamfield_post([("offer", 1)]))
    return admin_form_data(client, url or add_url(), **defaults, **changes)


def form_errors(response, field):
    form = response.context["form"]
    return [str(error) for error in form.errors.get(field, ())]


@pytest.fixture
def delivery(role_user):
    return role_user("delivery")


@pytest.fixture
def two_offers(category, space):
    """Two live offers on ``space``: "gold-card" (weight 5) ranks before
    "silver-card" (weight 2) for every contact."""
    gold = make_offer(category, "gold-card", spaces=[space], title="Gold card")
    silver = make_offer(category, "silver-card", spaces=[space], title="Silver card")
    return add_weight(gold, 5), add_weight(silver, 2)


@pytest.fixture
def mailing(environment):
    return make_space(environment, "mailing", channel="email", max_offers=3)


# -- The index and its grants (migration 0009) -----------------------------------


def test_the_migration_creates_the_index_at_the_root_granted_to_the_campaign_roles(
    db,
):
    index = CampaignIndexPage.objects.get()

    assert index.depth == 2 and index.live
    granted = {
        (grant.group.name, grant.permission.codename)
        for grant in GroupPagePermission.objects.filter(page=index)
    }
    for group in ("Delivery managers", "Interaction administrators"):
        for action in ("add", "change", "publish", "lock", "unlock"):
            assert (group, f"{action}_page") in granted
    assert {name for name, _codename in granted} == {
        "Delivery managers",
        "Interaction administrators",
    }


def test_wagtail_default_groups_keep_the_sites_but_not_the_campaigns(
    client, django_user_model
):
    root = Page.get_first_root_node()
    assert not GroupPagePermission.objects.filter(page=root).exists()
    editor = django_user_model.objects.create_user("editor", password="pw")
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    home = Page.objects.get(depth=2, slug="home")

    assert home.permissions_for_user(editor).can_add_subpage()
    assert not campaigns_index().permissions_for_user(editor).can_add_subpage()
    assert_refused(client.get(add_url()))


def test_a_new_index_is_granted_to_the_campaign_roles_and_root_grants_move_down(
    db,
):
    CampaignIndexPage.objects.all().delete()
    root = Page.get_first_root_node()
    editors = Group.objects.get(name="Editors")
    GroupPagePermission.objects.create(
        group=editors, page=root, permission_type="change"
    )

    index = campaigns_index()

    assert GroupPagePermission.objects.filter(
        page=index, group__name=DELIVERY_MANAGERS
    ).exists()
    assert not GroupPagePermission.objects.filter(page=root).exists()
    assert GroupPagePermission.objects.filter(
        group=editors, page__slug="home", permission__codename="change_page"
    ).exists()
    assert not CampaignIndexPage.can_create_at(index)  # one index, at the root


# -- Validation --------------------------------------------------------------------


def test_a_population_on_an_untargetable_field_is_a_form_error(
    client, delivery, space, settings
):
    settings.INTERACTION_DIMENSIONS = {DIMENSION: ["age", "country"]}
    client.force_login(delivery)
    population = {"field": "email", "op": "=", "value": "ada@example.com"}

    response = client.post(
        add_url(),
        campaign_form(client, space=space.pk, population=json.dumps(population)),
    )

    assert response.status_code == 200
    assert any("email" in error for error in form_errors(response, "population"))
    assert not CampaignPage.objects.exists()


def test_a_population_cannot_read_the_call_context(client, delivery, space):
    client.force_login(delivery)
    population = {"field": "context.language", "op": "=", "value": "fr"}

    response = client.post(
        add_url(),
        campaign_form(client, space=space.pk, population=json.dumps(population)),
    )

    assert form_errors(response, "population") == [
        "“context.language”: call context fields cannot be used here."
    ]


def test_a_delivery_manager_cannot_choose_a_space_of_another_environment(
    client, role_user, space, other_environment
):
    other_space = make_space(other_environment, "partner-mailing")
    user = role_user("delivery", environments=[other_environment])
    client.force_login(user)

    page = client.get(add_url()).content.decode()
    response = client.post(add_url(), campaign_form(client, space=space.pk))

    assert f'<option value="{other_space.pk}"' in page
    assert f'<option value="{space.pk}"' not in page
    assert form_errors(response, "space") == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert not CampaignPage.objects.exists()


def test_category_and_offers_of_another_environment_are_refused(
    space, other_environment, category
):
    other_category = make_category(other_environment, "partner-cards")
    other_space = make_space(other_environment, "partner-space")
    foreign = make_offer(other_category, "foreign", spaces=[other_space])
    elsewhere = make_offer(category, "web-only")  # on no space
    page = CampaignPage(title="Mailing", space=space, category=other_category)
    page.offers = [foreign, elsewhere]

    errors = page.campaign_errors()

    assert errors["category"] == ["This category belongs to another environment."]
    assert errors["offers"] == [
        "These offers belong to another environment: foreign.",
        "These offers are not published on “Home-Banner”: web-only.",
    ]


def test_a_space_of_one_offer_says_so_in_the_singular(space):
    # Found in the demo's simulation form: "at most 1 offers".
    space.max_offers = 1
    page = CampaignPage(title="Mailing", space=space, count=2, body=body())

    assert page.campaign_errors()["count"] == [
        "This space shows at most 1 offer to a contact."
    ]


def test_the_limit_stated_is_the_one_applied(space):
    """A space saved without its checks may allow more offers than a call
    can ask (MAX_COUNT): the limit checked and stated is MAX_COUNT."""
    space.max_offers = MAX_COUNT + 50
    page = CampaignPage(title="Mailing", space=space, count=MAX_COUNT + 1, body=body())

    assert page.campaign_errors()["count"] == [
        f"This space shows at most {MAX_COUNT} offers to a contact."
    ]
    assert space.too_many_offers() == (
        f"This space shows at most {MAX_COUNT} offers to a contact."
    )


def test_count_ranks_and_anonymous_spaces_are_checked(space, anonymous_environment):
    page = CampaignPage(
        title="Mailing", space=space, count=4, body=body(("offer", 1), ("offer", 5))
    )
    errors = page.campaign_errors()

    assert errors["count"] == ["This space shows at most 3 offers to a contact."]
    assert errors["body"] == [
        "No contact gets an offer at rank 5: at most 3 offers per contact."
    ]
    visitors = make_space(anonymous_environment, "visitor-space")
    anonymous = CampaignPage(title="Visitors", space=visitors)
    assert anonymous.campaign_errors()["space"] == [
        "A campaign needs contacts: this space belongs to an anonymous environment."
    ]


# -- The spec a run reads --------------------------------------------------------------


def test_spec_gives_the_runs_inputs(environment, mailing, category, two_offers):
    gold, silver = two_offers
    mailing.offers.add(gold, silver)
    population = {"field": "country", "op": "in", "value": ["FR", "BE"]}
    date = datetime.datetime(2026, 7, 1, 9, 0, tzinfo=datetime.UTC)
    page = make_campaign(
        mailing,
        offers=[silver, gold],
        population=population,
        count=2,
        category=category,
        themes="Summer, travel",
        contact_date=date,
        exclude_fewer=True,
    )

    assert page.spec() == CampaignSpec(
        campaign_id=page.pk,
        environment_id=environment.pk,
        space_code="mailing",
        population=population,
        count=2,
        category="cards",
        themes=("summer", "travel"),
        date=date,
        exclude_fewer=True,
        offer_ids=tuple(sorted([gold.pk, silver.pk])),
    )
    assert page.environment == environment


def test_spec_without_options(environment, mailing):
    page = make_campaign(mailing, population={})

    spec = page.spec()

    assert (spec.population, spec.category, spec.themes, spec.date) == (
        None,
        None,
        (),
        None,
    )
    assert (spec.count, spec.exclude_fewer, spec.offer_ids) == (1, False, ())


# -- Who may work on campaigns ------------------------------------------------------


def test_a_delivery_manager_creates_and_publishes_a_campaign(
    client, delivery, mailing, two_offers
):
    gold, _silver = two_offers
    mailing.offers.add(gold)
    client.force_login(delivery)
    index = campaigns_index()
    explorer = client.get(reverse("wagtailadmin_explore", args=[index.pk]))
    assert add_url(index) in explorer.content.decode() or (
        reverse("wagtailadmin_pages:add_subpage", args=[index.pk])
        in explorer.content.decode()
    )

    data = campaign_form(
        client,
        space=mailing.pk,
        count="2",
        population=json.dumps({"field": "age", "op": ">=", "value": 18}),
        offers=[str(gold.pk)],
    )
    data["action-publish"] = "action-publish"
    response = client.post(add_url(index), data)

    assert response.status_code == 302, (
        response.context and response.context["form"].errors
    )
    page = CampaignPage.objects.get()
    assert page.live and page.get_parent().pk == index.pk
    assert page.owner == delivery
    assert page.spec().offer_ids == (gold.pk,)
    assert page.spec().count == 2


@pytest.mark.parametrize("role", ["manager", "approver"])
def test_offer_managers_and_approvers_cannot_work_on_campaigns(
    client, role_user, mailing, role
):
    campaign = make_campaign(mailing)
    user = role_user(role)
    client.force_login(user)

    assert_refused(client.get(add_url()))
    assert_refused(client.get(edit_url(campaign)))
    assert_refused(client.get(reverse("wagtailadmin_explore", args=[campaign.pk])))
    assert_refused(client.get(preview_url(campaign)))
    assert not campaigns_index().permissions_for_user(user).can_add_subpage()


def test_a_delivery_manager_of_another_environment_cannot_open_the_campaign(
    client, role_user, mailing, other_environment
):
    campaign = make_campaign(mailing)
    user = role_user("delivery", environments=[other_environment])
    client.force_login(user)

    assert_refused(client.get(edit_url(campaign)))
    assert_refused(client.get(preview_url(campaign, contact=1)))
    listing = client.get(reverse("wagtailadmin_explore", args=[campaigns_index().pk]))
    assert listing.status_code == 200
    assert campaign.title not in listing.content.decode()
    chooser = client.get(
        reverse("wagtailadmin_choose_page_child", args=[campaigns_index().pk])
    )
    assert chooser.status_code == 200
    assert campaign.title not in chooser.content.decode()


def test_offer_content_is_read_only_from_a_campaign(client, delivery, mailing):
    campaign = make_campaign(mailing)
    client.force_login(delivery)

    html = client.get(edit_url(campaign)).content.decode()

    assert 'name="html_content"' not in html and 'name="text_content"' not in html
    assert not delivery.has_perm("interaction.change_offer")


# -- The delivery for one contact ----------------------------------------------


def test_offer_at_rank_shows_a_placeholder_outside_a_contact(mailing):
    page = make_campaign(
        mailing, body=body(("text", "<p>Hello,</p>"), ("offer", 2)), count=2
    )

    html = render_body(page, None, None)
    text = render_body(page, None, None, text=True)

    assert "Hello," in html
    assert "[The contact’s offer at rank 2]" in html
    assert 'class="interaction-offer-placeholder" data-rank="2"' in html
    assert text == "Hello,\n\n[The contact’s offer at rank 2]"


def test_render_for_puts_each_offer_at_its_rank_through_the_space(
    mailing, two_offers, contact
):
    gold, silver = two_offers
    mailing.offers.add(gold, silver)
    page = make_campaign(
        mailing,
        count=3,
        body=body(("text", "<p>Your offer:</p>"), ("offer", 2), ("offer", 3)),
    )
    first = record(gold, mailing, contact)
    second = record(silver, mailing, contact)
    second.rank = 2

    html = page.render_for(str(contact.pk), [first, second])
    text = page.render_for(str(contact.pk), [first, second], text=True)

    assert "Silver card" in html and "Gold card" not in html
    assert 'data-offer="silver-card"' in html
    assert "placeholder" not in html  # nothing at rank 3 for this contact
    assert text == "Your offer:\n\nSilver card"


def test_a_space_template_sees_the_contact_and_the_proposition(
    environment, category, contact
):
    space = make_space(
        environment,
        "letters",
        channel="email",
        html_template=(
            "<p>{{ contact.first_name }}: {{ offer.title }} #{{ proposition.rank }}</p>"
        ),
        text_template="{{ contact.first_name }}: {{ offer.title }}",
    )
    offer = make_offer(category, "gold-card", spaces=[space], title="Gold card")
    page = make_campaign(space, body=body(("offer", 1)))
    proposition = record(offer, space, contact)

    assert page.render_for(str(contact.pk), [proposition]) == (
        "<p>Ada: Gold card #1</p>"
    )
    assert page.render_for(
        str(contact.pk), [proposition], contact={"first_name": "Grace"}, text=True
    ) == ("Grace: Gold card")


def test_preview_for_a_contact_shows_its_offers_at_their_ranks(
    admin_client, mailing, two_offers, category
):
    gold, silver = two_offers
    mailing.offers.add(gold, silver)
    senior_only = make_offer(
        category,
        "seniors",
        spaces=[mailing],
        target_filter={"field": "age", "op": ">=", "value": 65},
    )
    add_weight(senior_only, 9)
    young = make_contact(first_name="Yann", age=30)
    senior = make_contact(first_name="Sam", age=70)
    page = make_campaign(
        mailing,
        count=2,
        contact_date=NOW,
        body=body(("text", "<p>Hi</p>"), ("offer", 1), ("offer", 2)),
    )

    for_young = admin_client.get(preview_url(page, young.pk)).content.decode()
    for_senior = admin_client.get(preview_url(page, senior.pk)).content.decode()

    assert "Delivery for Yann Lovelace" in for_young
    assert for_young.index('data-offer="gold-card"') < for_young.index(
        'data-offer="silver-card"'
    )
    assert 'data-offer="seniors"' not in for_young
    assert "contact does not match the target filter" in for_young
    # A dropped offer by its label, as in the space preview (it read "seniors").
    assert "<td>Seniors <code>seniors</code></td>" in for_young
    assert 'data-offer="seniors"' in for_senior
    assert for_senior.index('data-offer="seniors"') < for_senior.index(
        'data-offer="gold-card"'
    )
    assert 'data-offer="silver-card"' not in for_senior  # rank 3: not shown


def test_preview_with_explicit_offers_and_outside_the_population(
    admin_client, mailing, two_offers, contact
):
    gold, silver = two_offers
    mailing.offers.add(gold, silver)
    page = make_campaign(
        mailing,
        offers=[silver],
        population={"field": "country", "op": "=", "value": "FR"},
        exclude_fewer=True,
        count=2,
        body=body(("offer", 1)),
    )

    html = admin_client.get(preview_url(page, contact.pk)).content.decode()

    assert 'data-offer="silver-card"' in html and 'data-offer="gold-card"' not in html
    assert "not in the campaign&#x27;s population" in html
    assert "gets fewer than 2 offers" in html


def test_preview_of_an_unknown_contact(admin_client, mailing):
    page = make_campaign(mailing)

    html = admin_client.get(preview_url(page, "999999")).content.decode()

    assert "No contact has the id “999999”." in html


def test_wagtail_preview_shows_the_preview_contact_or_placeholders(
    rf, admin_user, mailing, two_offers, contact
):
    gold, silver = two_offers
    mailing.offers.add(gold, silver)
    page = make_campaign(mailing, count=2, body=body(("offer", 2)))
    request = rf.get("/")
    request.user = admin_user

    placeholders = page.serve_preview(request, "").rendered_content
    page.preview_contact = str(contact.pk)
    for_contact = page.serve_preview(request, "").rendered_content
    as_text = page.serve_preview(request, "text").rendered_content

    assert "[The contact’s offer at rank 2]" in placeholders
    # The panel takes an id; the search is one click away, in the full preview.
    find = f'<a href="{preview_url(page)}" target="_blank" rel="noopener"'
    assert find in placeholders and find in for_contact
    assert 'data-offer="silver-card"' in for_contact
    assert "Ada Lovelace" in for_contact
    assert "<pre>Silver card" in as_text


def test_campaign_pages_are_not_served(client, mailing):
    page = make_campaign(mailing)

    assert page.url is None
    assert Environment.objects.count() == 1


def test_preview_finds_a_contact_by_name_and_links_to_its_delivery(
    admin_client, mailing, two_offers
):
    gold, silver = two_offers
    mailing.offers.add(gold, silver)
    hopper = make_contact(first_name="Grace", last_name="Hopper")
    make_contact(last_name="Lamarr")
    page = make_campaign(mailing, count=1, body=body(("offer", 1)))
    url = reverse("interaction_campaign_preview", args=[page.pk])

    html = admin_client.get(url + "?find=hopp").content.decode()
    links = re.findall(r'<a href="(\?[^"]*contact=[^"]*)">([^<]*)</a>', html)
    by_id = admin_client.get(url + f"?find={hopper.pk}").content.decode()

    assert "Find a contact" in html
    assert [unescape(label) for _link, label in links] == [str(hopper)]
    assert f'<a href="?contact={hopper.pk}">' in by_id
    delivery = admin_client.get(url + unescape(links[0][0])).content.decode()
    assert "Delivery for Grace Hopper" in delivery
    assert 'data-offer="gold-card"' in delivery
    nobody = admin_client.get(url + "?find=nobody").content.decode()
    assert "No contact matches “nobody”." in nobody
