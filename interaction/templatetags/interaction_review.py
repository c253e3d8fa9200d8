"""``{% offer_review offer as rows %}``: every attribute an approver approves
(:func:`interaction.snippets.reviews.offer_review`)."""

from django import template

register = template.Library()


@register.simple_tag
def offer_review(offer):
    from ..snippets.reviews import offer_review as review

    return review(offer)
