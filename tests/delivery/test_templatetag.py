"""``{% offer_space %}`` and the contact resolver setting."""

import logging
import re

import pytest
from django.db import connection
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError
from django.test.utils import CaptureQueriesContext

from interaction.delivery.propose import propose
from interaction.delivery.tracking import token_matches
from interaction.delivery.web import propose_for_request
from interaction.engine.call import Call
from interaction.middleware import VisitorMiddleware
from interaction.models import Proposition
from tests.builders import (
    make_category,
    make_offer,
    make_rule,
    make_space,
    shown_codes,
)


def render(source, request):
    return Template("{% load interaction %}" + source).render(
        Context({"request": request})
    )


def test_tag_renders_offers_for_the_resolved_contact(rf, contact, space, offer):
    request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
    html = render('{% offer_space "home-banner" count=2 %}', request)

    proposition = Proposition.objects.get()
    assert proposition.contact_key == str(contact.pk)
    assert proposition.offer_id == offer.pk
    assert f'data-interaction="{proposition.interaction_id}"' in html
    assert 'class="interaction-space"' in html
    assert "Gold card" in html
    assert f'data-proposition="{proposition.pk}"' in html
    token = re.search(r'data-token="([^"]+)"', html).group(1)
    assert token_matches(token, proposition.pk)


def test_tag_options_scope_the_offers(rf, contact, environment, space):
    cards = make_category(environment, "cards")
    loans = make_category(environment, "loans")
    make_offer(cards, "gold-card", spaces=[space], title="Gold card")
    make_offer(loans, "cheap-loan", spaces=[space], title="Cheap loan")
    request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))

    html = render('{% offer_space "home-banner" count=3 category="loans" %}', request)
    assert "Cheap loan" in html and "Gold card" not in html
    html = render('{% offer_space "home-banner" count=1 themes="" %}', request)
    assert html.count("data-proposition=") == 1


def test_identified_space_without_contact_renders_nothing(rf, offer):
    assert render('{% offer_space "home-banner" %}', rf.get("/")).strip() == ""
    assert not Proposition.objects.exists()


def test_as_form_assigns_the_propositions(rf, contact, offer):
    request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
    html = render(
        '{% offer_space "home-banner" as offers %}'
        "{% for p in offers %}<b{% proposition_attrs p %}>{{ p.offer.code }}"
        "#{{ p.rank }}</b>{% empty %}none{% endfor %}",
        request,
    )
    proposition = Proposition.objects.get()
    assert html.startswith(f'<b data-proposition="{proposition.pk}" data-token="')
    assert html.endswith(">gold-card#1</b>")
    assert "interaction-space" not in html


def test_unknown_or_draft_space_renders_nothing(rf, contact, environment, caplog):
    make_space(environment, "draft-space", live=False)
    request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
    with caplog.at_level(logging.WARNING, logger="interaction.requests"):
        assert render('{% offer_space "nowhere" %}', request) == ""
        assert (
            render('{% offer_space "draft-space" as x %}{{ x|length }}', request) == "0"
        )
    assert "nowhere" in caplog.text


def test_batch_only_space_renders_nothing(rf, contact, environment):
    make_space(environment, "mailing", real_time=False)
    request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
    assert render('{% offer_space "mailing" %}', request) == ""


def test_bad_tag_syntax_is_reported():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load interaction %}{% offer_space %}")
    with pytest.raises(TemplateSyntaxError):
        Template('{% load interaction %}{% offer_space "x" colour="red" %}')


def test_anonymous_space_uses_the_visitor_cookie(rf, anonymous_environment):
    promos = make_category(anonymous_environment, "promos")
    visitors = make_space(anonymous_environment, "visitor-hero")
    make_offer(promos, "welcome", spaces=[visitors], title="Welcome")
    seen = {}

    def view(request):
        seen["html"] = render('{% offer_space "visitor-hero" %}', request)
        return HttpResponse(seen["html"])

    response = VisitorMiddleware(view)(rf.get("/"))
    visitor = response.cookies["interaction_visitor"].value
    assert "Welcome" in seen["html"]
    assert Proposition.objects.get().visitor_id == visitor


def test_a_new_visitors_history_is_not_read(rf, anonymous_environment):
    """A visitor whose cookie this request made has no propositions: the tag
    stores its offer without reading the proposition table first."""
    promos = make_category(anonymous_environment, "promos")
    visitors = make_space(anonymous_environment, "visitor-hero")
    make_offer(promos, "welcome", spaces=[visitors], title="Welcome")
    make_rule(anonymous_environment, counted_offers="category", quantity=1)
    seen = {}

    def view(request):
        with CaptureQueriesContext(connection) as queries:
            seen["html"] = render('{% offer_space "visitor-hero" %}', request)
        seen["sql"] = [query["sql"] for query in queries.captured_queries]
        return HttpResponse(seen["html"])

    VisitorMiddleware(view)(rf.get("/"))

    assert "Welcome" in seen["html"]
    assert Proposition.objects.count() == 1
    table = Proposition._meta.db_table
    assert [sql for sql in seen["sql"] if table in sql and "SELECT" in sql] == []


def test_a_new_visitors_history_is_read_once_it_has_one(rf, anonymous_environment):
    """The second tag of a new visitor's first page counts what the first one
    stored: one offer of a category per week, so it shows none."""
    promos = make_category(anonymous_environment, "promos")
    hero = make_space(anonymous_environment, "visitor-hero")
    sidebar = make_space(anonymous_environment, "visitor-sidebar")
    make_offer(promos, "welcome", spaces=[hero], title="Welcome")
    make_offer(promos, "newsletter", spaces=[sidebar], title="Newsletter")
    make_rule(anonymous_environment, counted_offers="category", quantity=1)
    seen = {}

    def view(request):
        seen["html"] = render(
            '{% offer_space "visitor-hero" %}|{% offer_space "visitor-sidebar" %}',
            request,
        )
        return HttpResponse(seen["html"])

    VisitorMiddleware(view)(rf.get("/"))
    hero_html, sidebar_html = seen["html"].split("|")

    assert "Welcome" in hero_html
    assert sidebar_html.strip() == ""
    assert [p.offer_code for p in Proposition.objects.all()] == ["welcome"]


def test_a_new_visitors_history_counts_what_site_code_stored(rf, anonymous_environment):
    """Propositions a site's own view stores for the new visitor (through
    ``propose``, not a tag) are counted by the tags after it."""
    promos = make_category(anonymous_environment, "promos")
    hero = make_space(anonymous_environment, "visitor-hero")
    sidebar = make_space(anonymous_environment, "visitor-sidebar")
    make_offer(promos, "welcome", spaces=[hero], title="Welcome")
    make_offer(promos, "newsletter", spaces=[sidebar], title="Newsletter")
    make_rule(anonymous_environment, counted_offers="category", quantity=1)
    seen = {}

    def view(request):
        call = Call(space="visitor-hero", visitor=request.interaction_visitor)
        propose(call, store=True)
        seen["html"] = render('{% offer_space "visitor-sidebar" %}', request)
        return HttpResponse(seen["html"])

    VisitorMiddleware(view)(rf.get("/"))

    assert seen["html"].strip() == ""
    assert [p.offer_code for p in Proposition.objects.all()] == ["welcome"]


def test_no_resolver_means_no_contact(rf, settings, contact, offer):
    settings.INTERACTION_CONTACT_RESOLVER = None
    request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
    result = propose_for_request(request, "home-banner")
    assert result.propositions == []
    assert "No contact" in result.reason


# One offer once per page


HERO_AND_SIDEBAR = '{% offer_space "hero" %}{% offer_space "sidebar" count=3 %}'


def test_tags_of_one_page_show_each_offer_once(request_for, page_spaces):
    html = render(HERO_AND_SIDEBAR, request_for)

    assert shown_codes(html) == [
        ("hero", ["best"]),
        ("sidebar", ["second", "third", "fourth"]),
    ]
    stored = Proposition.objects.filter(space__code="sidebar").order_by("rank")
    assert [p.offer_code for p in stored] == ["second", "third", "fourth"]


def test_each_page_starts_afresh(rf, contact, page_spaces):
    for _ in range(2):
        request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
        assert shown_codes(render(HERO_AND_SIDEBAR, request))[0] == ("hero", ["best"])


@pytest.mark.parametrize("off", ["False", '"false"', '"False"', "0", '"0"'])
def test_unique_offers_false_leaves_a_tag_out(request_for, page_spaces, off):
    html = render(
        '{% offer_space "hero" %}'
        f'{{% offer_space "sidebar" count=3 unique_offers={off} %}}'
        '{% offer_space "hero" %}',
        request_for,
    )

    assert shown_codes(html) == [
        ("hero", ["best"]),
        ("sidebar", ["best", "second", "third"]),
        ("hero", ["second"]),
    ]


def test_the_as_form_counts_as_shown(request_for, page_spaces):
    html = render(
        '{% offer_space "sidebar" count=3 as offers %}'
        "{% for p in offers %}{{ p.offer.code }} {% endfor %}"
        '{% offer_space "hero" as hero %}{{ hero.0.offer.code }}',
        request_for,
    )

    assert html == "best second third fourth"


def test_unique_offers_cost_no_query(rf, contact, page_spaces):
    """The page's offers are excluded in memory: as many queries either way."""

    def queries(source):
        request = rf.get("/", HTTP_X_CONTACT=str(contact.pk))
        with CaptureQueriesContext(connection) as captured:
            render(source, request)
        return len(captured)

    queries(HERO_AND_SIDEBAR)  # the catalogue compiled
    repeating = HERO_AND_SIDEBAR.replace("count=3", "count=3 unique_offers=False")

    assert queries(HERO_AND_SIDEBAR) == queries(repeating)
