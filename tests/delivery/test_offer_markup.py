"""The markup of the tag and the blocks: what ``offers.js`` reads from it."""

import re
import uuid

from django.template.loader import render_to_string

from interaction.delivery import sandbox
from interaction.delivery.propose import PropositionsResult, RenderedProposition
from interaction.delivery.tracking import token_matches
from interaction.delivery.web import presentation_context


def result_with(proposition_id, offer):
    return PropositionsResult(
        interaction_id=uuid.UUID(int=7),
        identified=False,
        space_code="hero",
        propositions=[
            RenderedProposition(
                id=proposition_id,
                rank=1234,
                weight=1.5,
                offer=offer,
                category_code="cards",
                content={},
                html="<p>Gold card</p>",
                text="Gold card",
            )
        ],
    )


def test_tracking_attributes_are_plain_numbers_whatever_the_locale(settings, offer):
    settings.USE_THOUSAND_SEPARATOR = True
    settings.LANGUAGE_CODE = "en"

    html = render_to_string(
        "interaction/tags/offer_space.html",
        presentation_context(result_with(1234567, offer)),
    )

    assert 'data-proposition="1234567"' in html
    assert 'data-rank="1234"' in html
    assert 'data-interaction="00000000-0000-0000-0000-000000000007"' in html
    token = re.search(r'data-token="([^"]+)"', html).group(1)
    assert token_matches(token, 1234567)
    assert "<p>Gold card</p>" in html


def test_a_proposition_not_stored_has_no_tracking_attributes(offer):
    html = render_to_string(
        "interaction/tags/offer_space.html",
        presentation_context(result_with(None, offer)),
    )

    assert 'data-offer="gold-card"' in html
    assert "data-proposition" not in html and "data-token" not in html


def test_a_custom_space_template_writes_numbers_unlocalised(settings, offer):
    settings.USE_THOUSAND_SEPARATOR = True
    settings.LANGUAGE_CODE = "en"
    template = sandbox.compile_template(
        '<a data-proposition="{{ proposition.id }}">{{ proposition.weight }}</a>'
    )

    html = sandbox.render(
        template, {"proposition": {"id": 1234567, "weight": 1234.5}}, autoescape=True
    )

    assert html == '<a data-proposition="1234567">1234.5</a>'
