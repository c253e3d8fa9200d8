"""The offer-space and offer StreamField blocks, in a page body."""

import datetime

from django.template import Context, Template
from django.utils import timezone

from interaction.models import Offer, OfferWeight, Proposition
from tests.builders import make_category, make_offer, make_space, shown_codes
from tests.testapp.models import BlocksPage


def body(*blocks):
    stream_block = BlocksPage._meta.get_field("body").stream_block
    return stream_block.to_python([{"type": t, "value": v} for t, v in blocks])


def render(stream, request):
    template = Template(
        "{% load wagtailcore_tags %}"
        "{% for block in body %}{% include_block block %}{% endfor %}"
    )
    return template.render(Context({"request": request, "body": stream})).strip()


def space_block(space, count=1, category="", themes=""):
    return (
        "offer_space",
        {"space": space.pk, "count": count, "category": category, "themes": themes},
    )


def offer_block(offer, space):
    return ("offer", {"offer": offer.pk, "space": space.pk})


def test_offer_space_block_renders_offers_for_the_request(
    request_for, contact, space, offer
):
    html = render(body(space_block(space, count=2)), request_for)
    proposition = Proposition.objects.get()
    assert proposition.contact_key == str(contact.pk)
    assert "Gold card" in html
    assert f'data-interaction="{proposition.interaction_id}"' in html
    assert f'data-proposition="{proposition.pk}" data-token="' in html


def test_offer_space_block_options(request_for, environment, space):
    cards = make_category(environment, "cards", themes="premium")
    loans = make_category(environment, "loans")
    make_offer(cards, "gold-card", spaces=[space], title="Gold card")
    make_offer(loans, "cheap-loan", spaces=[space], title="Cheap loan")
    html = render(body(space_block(space, count=5, category="loans")), request_for)
    assert "Cheap loan" in html and "Gold card" not in html
    html = render(body(space_block(space, count=5, themes="premium")), request_for)
    assert "Gold card" in html and "Cheap loan" not in html


def test_offer_space_block_without_request(anonymous_environment):
    promos = make_category(anonymous_environment, "promos")
    visitors = make_space(anonymous_environment, "visitor-hero")
    make_offer(promos, "welcome", spaces=[visitors], title="Welcome")
    stream = body(space_block(visitors))
    assert "Welcome" in render(stream, None)
    assert "Welcome" in str(stream)  # {{ page.body }}: no context at all
    assert "Welcome" in stream[0].block.render(stream[0].value)
    assert not Proposition.objects.exists()  # previews store nothing


def test_identified_space_block_without_request_renders_nothing(space, offer):
    assert render(body(space_block(space)), None) == ""


def test_offer_space_block_with_a_draft_or_deleted_space(request_for, environment):
    draft = make_space(environment, "draft-space", live=False)
    assert render(body(space_block(draft)), request_for) == ""
    stream = body(("offer_space", {"space": 999999, "count": 1}))
    assert stream[0].value["space"] is None
    assert render(stream, request_for) == ""


def test_offer_block_shows_the_chosen_offer_only(rf, contact, environment, category):
    space = make_space(environment, "home-banner", max_offers=1)
    make_offer(
        category,
        "best-seller",
        spaces=[space],
        title="Best seller",
        weights=[OfferWeight(value="100")],
    )
    chosen = make_offer(category, "gold-card", spaces=[space], title="Gold card")
    for _ in range(3):  # three pages
        request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
        html = render(body(offer_block(chosen, space)), request)
        assert "Gold card" in html and "Best seller" not in html
    assert set(Proposition.objects.values_list("offer_code", flat=True)) == {
        "gold-card"
    }
    assert Proposition.objects.count() == 3
    assert Proposition.objects.first().rank == 1
    # Arbitration alone would have shown the best seller in this space.
    assert "Best seller" in render(body(space_block(space)), request)


def test_offer_block_hides_a_draft_offer(request_for, category, space):
    draft = make_offer(category, "draft", spaces=[space], title="Draft", live=False)
    assert render(body(offer_block(draft, space)), request_for) == ""

    offer = make_offer(category, "was-live", spaces=[space], title="Was live")
    offer.unpublish()
    assert render(body(offer_block(offer, space)), request_for) == ""
    assert not Proposition.objects.exists()


def test_offer_block_hides_an_ineligible_offer(request_for, environment, category):
    space = make_space(environment, "home-banner")
    other = make_space(environment, "sidebar")
    past = timezone.now() - datetime.timedelta(days=1)
    expired = make_offer(category, "expired", spaces=[space], end_date=past)
    elsewhere = make_offer(category, "elsewhere", spaces=[other], title="Elsewhere")
    not_for_ada = make_offer(
        category,
        "french-only",
        spaces=[space],
        target_filter={"field": "country", "op": "=", "value": "FR"},
    )
    for offer in (expired, elsewhere, not_for_ada):
        assert render(body(offer_block(offer, space)), request_for) == ""
    assert "Elsewhere" in render(body(offer_block(elsewhere, other)), request_for)


def test_offer_block_without_request(anonymous_environment):
    promos = make_category(anonymous_environment, "promos")
    visitors = make_space(anonymous_environment, "visitor-hero")
    welcome = make_offer(promos, "welcome", spaces=[visitors], title="Welcome")
    stream = body(offer_block(welcome, visitors))
    assert "Welcome" in render(stream, None)
    assert "Welcome" in str(stream)
    assert not Proposition.objects.exists()


# One offer once per page


def test_blocks_of_one_page_show_each_offer_once(request_for, page_spaces):
    hero, sidebar = page_spaces

    html = render(body(space_block(hero), space_block(sidebar, count=3)), request_for)

    assert shown_codes(html) == [
        ("hero", ["best"]),
        ("sidebar", ["second", "third", "fourth"]),
    ]


def test_blocks_and_tags_share_the_page(request_for, page_spaces):
    """The body's blocks, then a tag of the page's template after them."""
    hero, _sidebar = page_spaces
    template = Template(
        "{% load wagtailcore_tags interaction %}"
        "{% for block in body %}{% include_block block %}{% endfor %}"
        '{% offer_space "sidebar" count=3 %}'
    )
    stream = body(space_block(hero, count=1))

    html = template.render(Context({"request": request_for, "body": stream}))

    assert shown_codes(html) == [
        ("hero", ["best"]),
        ("sidebar", ["second", "third", "fourth"]),
    ]


def test_an_offer_block_does_not_repeat_an_offer_shown_above(
    request_for, category, page_spaces
):
    hero, sidebar = page_spaces
    best = Offer.objects.get(code="best")

    html = render(
        body(space_block(hero), offer_block(best, sidebar), space_block(sidebar)),
        request_for,
    )

    assert shown_codes(html) == [("hero", ["best"]), ("sidebar", ["second"])]


def test_an_offer_block_counts_as_shown(request_for, page_spaces):
    hero, sidebar = page_spaces
    best = Offer.objects.get(code="best")

    html = render(body(offer_block(best, sidebar), space_block(hero)), request_for)

    assert shown_codes(html) == [("sidebar", ["best"]), ("hero", ["second"])]
