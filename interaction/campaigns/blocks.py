"""The blocks of a campaign page's body (SPEC §6, delivery content).

A campaign's body is the content delivered to each contact: rich text, and
"the contact's offer at rank k", rendered through the campaign's space. The
offer is only known for one contact (a preview, an export): the body is
rendered by :meth:`CampaignPage.render_for
<interaction.models.CampaignPage.render_for>`, which puts the contact's
propositions in the context; anywhere else (the editor, a plain render) the
block shows a placeholder.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from ..engine.call import MAX_COUNT

#: The context variable holding one contact's rendered offers, by rank.
PROPOSITIONS = "campaign_propositions"

#: The rich text a campaign body offers (what offers' own HTML content allows).
RICH_TEXT_FEATURES = [
    "h2",
    "h3",
    "h4",
    "bold",
    "italic",
    "ol",
    "ul",
    "hr",
    "link",
]


class OfferAtRankBlock(blocks.StructBlock):
    """The contact's offer at rank k, as the campaign's space renders it."""

    rank = blocks.IntegerBlock(
        label=_("rank"),
        min_value=1,
        max_value=MAX_COUNT,
        default=1,
        help_text=_(
            "1 is the contact's best offer. Empty for a contact who gets fewer offers."
        ),
    )

    class Meta:
        icon = "tag"
        label = _("The contact's offer at rank k")
        template = "interaction/blocks/offer_at_rank.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        rank = value.get("rank") or 1
        propositions = (parent_context or {}).get(PROPOSITIONS)
        context["rank"] = rank
        context["placeholder"] = propositions is None
        context["rendered"] = None if propositions is None else propositions.get(rank)
        return context


def body_blocks() -> list[tuple[str, blocks.Block]]:
    return [
        ("paragraph", blocks.RichTextBlock(features=RICH_TEXT_FEATURES)),
        ("offer", OfferAtRankBlock()),
    ]
