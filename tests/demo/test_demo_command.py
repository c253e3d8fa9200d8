"""``manage.py interaction_demo``: a complete, live and idempotent demo."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from home.models import Contact, HomePage
from wagtail.images import get_image_model
from wagtail.models import GroupPagePermission, Site

from interaction.models import (
    CampaignIndexPage,
    CampaignPage,
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    SpaceContentField,
    TypologyRule,
)
from interaction.roles import DELIVERY_MANAGERS, OFFER_APPROVERS, OFFER_MANAGERS
from tests.builders import shown_codes


def run_demo(**options) -> str:
    out = StringIO()
    call_command("interaction_demo", no_migrate=True, stdout=out, **options)
    return out.getvalue()


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Environment,
            OfferSpace,
            SpaceContentField,
            OfferCategory,
            Offer,
            OfferWeight,
            TypologyRule,
            Contact,
            HomePage,
            get_user_model(),
        )
    }


@pytest.mark.django_db
def test_running_twice_creates_nothing_twice(client):
    run_demo(contacts=50)
    first = counts()
    output = run_demo(contacts=50)

    assert counts() == first
    assert first["Environment"] == 2
    assert first["OfferSpace"] >= 3
    assert first["OfferCategory"] >= 5
    assert first["Offer"] >= 20
    assert first["TypologyRule"] >= 3
    assert first["Contact"] == 50
    assert first["HomePage"] == 1
    assert first["User"] == 4
    assert "offers: 0 created" in output

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert client.login(username="admin", password="admin")

    home = HomePage.objects.get()
    assert home.live and home.title == "Interaction demo"
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk
    client.logout()
    response = client.get("/")
    assert response.status_code == 200
    assert b"Interaction demo" in response.content
    # The hero, rendered on the server, falls back to the visitors' space for
    # an anonymous visitor; offers.js fills the sidebar without its offer.
    assert b'data-space="visitor-hero"' in response.content
    assert b'data-offer-space="home-sidebar"' in response.content
    assert b"data-unique-offers" in response.content
    [(_space, [hero])] = shown_codes(response.content.decode())

    def sidebar(**options):
        """The sidebar's offers, as offers.js asks for them."""
        result = client.post(
            "/api/interaction/v1/propose/batch",
            {"calls": [{"space": "home-sidebar", "count": 3}], **options},
            content_type="application/json",
        ).json()["results"][0]["result"]
        assert result["space"] == "visitor-sidebar"
        return [p["offer"]["code"] for p in result["propositions"]]

    # The sidebar would show the hero's offer again but for data-unique-offers.
    assert hero in sidebar()
    shown_once = sidebar(unique_offers=True, shown_offers=[hero])
    assert shown_once and hero not in shown_once


@pytest.mark.django_db
def test_demo_offers_have_banners_rendered_in_the_hero_and_the_sidebar(client):
    run_demo(contacts=5)
    banners = get_image_model().objects.filter(collection__name="Interaction demo")
    count = banners.count()
    run_demo(contacts=5)

    assert count == Offer.objects.count() == banners.count()
    assert not Offer.objects.filter(image=None).exists()
    html = client.get("/?contact=").content.decode()
    hero = re.search(r'<article class="promo promo--hero">.*?</article>', html, re.S)
    assert hero and re.search(
        r'<img src="/media/original_images/offer-[^"]+\.png"', hero[0]
    )
    result = client.post(
        "/api/interaction/v1/propose/batch",
        {"calls": [{"space": "home-sidebar", "count": 3}]},
        content_type="application/json",
    ).json()["results"][0]["result"]
    cards = [p["html"] for p in result["propositions"]]
    assert len(cards) == 3
    for card in cards:
        assert re.search(
            r'<img class="promo__thumb" src="/media/images/offer-[^"]+fill-640x320',
            card,
        ), card


@pytest.mark.django_db
def test_a_demo_seeded_before_banners_gets_them_published():
    run_demo(contacts=5)
    # As seeded before offers had images.
    Offer.objects.update(image=None)
    get_image_model().objects.all().delete()

    run_demo(contacts=5)

    for offer in Offer.objects.all():
        assert offer.image is not None and offer.live, offer.code
        assert not offer.has_unpublished_changes, offer.code
        assert offer.live_revision.as_object().image_id == offer.image_id


@pytest.mark.django_db
def test_more_contacts_adds_only_the_missing_ones():
    run_demo(contacts=10)
    emails = set(Contact.objects.values_list("email", flat=True))
    run_demo(contacts=25)

    assert Contact.objects.count() == 25
    assert emails <= set(Contact.objects.values_list("email", flat=True))


@pytest.mark.django_db
def test_default_run_seeds_a_live_and_valid_catalogue():
    output = run_demo()

    assert Contact.objects.filter(email__endswith="@example.com").count() == 1000
    assert len(set(Contact.objects.values_list("email", flat=True))) == 1000
    assert "http://127.0.0.1:8000/admin/" in output
    for username in ("admin", "manager", "approver", "delivery"):
        assert f"{username} / {username}" in output

    customers = Environment.objects.get(code="customers")
    visitors = Environment.objects.get(code="visitors")
    assert customers.dimension == "home.contact"
    assert visitors.is_anonymous

    offers = Offer.objects.all()
    assert offers.count() >= 20
    for offer in offers:
        assert offer.live and not offer.has_unpublished_changes, offer.code
        assert offer.spaces.exists(), offer.code
        assert offer.title and offer.destination_url.startswith("https://")
        assert offer.text_content and offer.html_content
        assert 1 <= offer.weights.count() <= 2
        offer.full_clean()
        for weight in offer.weights.all():
            weight.full_clean()
        assert not offer.publishing_errors()
    assert offers.exclude(target_filter=None).count() >= 5
    assert OfferWeight.objects.filter(value__contains="age").exists()

    for model in (OfferSpace, OfferCategory):
        assert not model.objects.filter(live=False).exists()
        assert not model.objects.filter(has_unpublished_changes=True).exists()
    channels = set(OfferSpace.objects.values_list("channel", flat=True))
    assert {"web", "email"} <= channels
    hero = OfferSpace.objects.get(code="home-hero")
    assert hero.max_offers == 1
    assert hero.fallback_space.environment == visitors
    assert (
        "title" in OfferSpace.objects.get(code="newsletter").required_content_fields()
    )

    premium = OfferCategory.objects.get(environment=customers, code="premium-cards")
    assert premium.parent.code == "cards"
    assert OfferCategory.objects.filter(environment=customers, always_include=True)
    assert OfferCategory.objects.filter(environment=visitors).exists()

    rules = TypologyRule.objects.filter(environment=customers)
    assert rules.count() >= 3
    assert rules.filter(global_capping=True, quantity=1000).exists()
    for rule in TypologyRule.objects.all():
        rule.full_clean()


@pytest.mark.django_db
def test_logins_and_roles(client, django_user_model):
    django_user_model.objects.create_superuser("admin", "a@example.com", "secret")
    run_demo(contacts=0)

    # An existing admin keeps its password.
    assert not client.login(username="admin", password="admin")
    assert client.login(username="admin", password="secret")
    assert client.get("/admin/").status_code == 200

    environments = set(Environment.objects.all())
    for username, group in (
        ("manager", OFFER_MANAGERS),
        ("approver", OFFER_APPROVERS),
        ("delivery", DELIVERY_MANAGERS),
    ):
        user = django_user_model.objects.get(username=username)
        assert user.groups.filter(name=group).exists()
        assert set(user.interaction_environments.all()) == environments
        assert client.login(username=username, password=username)
        assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_demo_campaign_is_edited_and_previewed_by_the_delivery_manager(client):
    output = run_demo(contacts=20)
    run_demo(contacts=20)

    campaign = CampaignPage.objects.get()
    assert campaign.live and isinstance(
        campaign.get_parent().specific, CampaignIndexPage
    )
    assert campaign.spec().space_code == "newsletter"
    assert f"/admin/pages/{campaign.pk}/edit/" in output
    edit = reverse("wagtailadmin_pages:edit", args=[campaign.pk])
    assert client.login(username="delivery", password="delivery")
    assert client.get(edit).status_code == 200
    preview = client.get(
        reverse("interaction_campaign_preview", args=[campaign.pk]),
        {"contact": campaign.preview_contact},
    )
    html = preview.content.decode()
    # The newsletter's own template, for each of the contact's two offers.
    assert html.count('<table role="presentation">') == 2, html
    client.logout()
    assert client.login(username="manager", password="manager")
    assert client.get(edit).status_code == 302
    # Wagtail's Editors keep their page permissions on the demo's home page.
    assert GroupPagePermission.objects.filter(
        group__name="Editors", page=HomePage.objects.get()
    ).exists()
