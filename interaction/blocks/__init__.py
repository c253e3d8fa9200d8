"""StreamField blocks that show offers in a page body.

Render them with ``{% include_block block %}`` so that they see the request
(the contact and visitor); ``{{ block }}`` renders without it, as do previews,
which the blocks accept (no contact: anonymous spaces only, nothing stored).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from ..delivery.web import (
    presentation_context,
    propose_for_request,
    propose_offer_for_request,
)
from ..engine.call import MAX_COUNT


class OfferSpaceBlock(blocks.StructBlock):
    """The best offers of a space, chosen by the engine at render time."""

    space = SnippetChooserBlock("interaction.OfferSpace", label=_("offer space"))
    count = blocks.IntegerBlock(
        label=_("number of offers"), min_value=1, max_value=MAX_COUNT, default=1
    )
    category = blocks.CharBlock(
        label=_("category code"),
        required=False,
        max_length=50,
        help_text=_("Only offers of this category and its subcategories."),
    )
    themes = blocks.CharBlock(
        label=_("themes"),
        required=False,
        max_length=500,
        help_text=_("Comma-separated: offers of any of these themes."),
    )

    class Meta:
        icon = "pick"
        label = _("Offer space")
        template = "interaction/blocks/offer_space.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        space = value.get("space")
        result = None
        if space is not None:
            result = propose_for_request(
                context.get("request"),
                space.code,
                count=value.get("count") or 1,
                category=value.get("category") or None,
                themes=value.get("themes") or (),
            )
        context.update(presentation_context(result))
        return context


class OfferBlock(blocks.StructBlock):
    """One chosen live offer through a space, if it is eligible for the visitor."""

    offer = SnippetChooserBlock("interaction.Offer", label=_("offer"))
    space = SnippetChooserBlock(
        "interaction.OfferSpace",
        label=_("offer space"),
        help_text=_("The offer is rendered by this space and must be published on it."),
    )

    class Meta:
        icon = "tag"
        label = _("Offer")
        template = "interaction/blocks/offer.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        offer, space = value.get("offer"), value.get("space")
        result = None
        if offer is not None and offer.live and space is not None:
            result = propose_offer_for_request(
                context.get("request"), space.code, offer
            )
        context.update(presentation_context(result))
        return context
