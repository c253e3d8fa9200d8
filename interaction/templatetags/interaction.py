"""``{% load interaction %}``: offers rendered server-side for the request.

``{% offer_space "code" count=3 category="cards" themes="travel,cars" %}``
renders the offers of a live real-time space for the request's contact (see
``INTERACTION_CONTACT_RESOLVER``) or visitor, each wrapped with the
``data-proposition``/``data-token`` attributes ``interaction/offers.js`` uses
to record ``presented`` and ``accepted``. An unknown space renders nothing.

One offer once per page: an offer rendered by a tag or block earlier in the
request is not rendered again by a later one (its place goes to the next
offer); ``unique_offers=False`` leaves a tag out of that rule (it may repeat
offers shown above, and later ones may repeat its offers).

``{% offer_space "code" count=3 as propositions %}`` assigns the list of
:class:`interaction.delivery.propose.RenderedProposition` instead, for custom markup;
``{% proposition_attrs proposition %}`` then writes the tracking attributes.

``{% interaction_contact %}`` (or ``... as contact``) gives the resolved
contact id, e.g. for the JS client's ``data-contact``.
"""

from __future__ import annotations

from django import forms, template
from django.template.base import token_kwargs
from django.utils.html import format_html

from ..delivery.web import (
    presentation_context,
    propose_for_request,
    resolve_contact,
    token_for,
)

register = template.Library()

TEMPLATE = "interaction/tags/offer_space.html"
OPTIONS = frozenset({"count", "category", "themes", "unique_offers"})


class OfferSpaceNode(template.Node):
    def __init__(self, space, options, target):
        self.space = space
        self.options = options
        self.target = target

    def render(self, context):
        space = self.space.resolve(context)
        options = {name: value.resolve(context) for name, value in self.options.items()}
        result = None
        if space:
            result = propose_for_request(
                context.get("request"),
                str(space),
                count=options.get("count", 1),
                category=options.get("category") or None,
                themes=options.get("themes") or (),
                unique_offers=_flag(options.get("unique_offers", True)),
            )
        if self.target:
            context[self.target] = result.propositions if result else []
            return ""
        if result is None or not result.propositions:
            return ""
        tpl = context.template.engine.get_template(TEMPLATE)
        return tpl.render(
            template.Context(
                presentation_context(result), autoescape=context.autoescape
            )
        )


def _flag(value) -> bool:
    """A true/false option as a form reads one: ``False``, ``"false"`` and
    ``"0"`` are false (a quoted ``"False"`` is not a true string here)."""
    return forms.BooleanField().to_python(value)


@register.tag("offer_space")
def offer_space(parser, token):
    bits = token.split_contents()
    tag_name = bits.pop(0)
    target = None
    if len(bits) >= 2 and bits[-2] == "as":
        target = bits.pop()
        bits.pop()
    if not bits or "=" in bits[0]:
        raise template.TemplateSyntaxError(
            f'“{tag_name}” needs a space code: {{% {tag_name} "code" %}}.'
        )
    space = parser.compile_filter(bits.pop(0))
    options = token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError(
            f"“{tag_name}” does not understand “{bits[0]}”."
        )
    unknown = set(options) - OPTIONS
    if unknown:
        raise template.TemplateSyntaxError(
            f"“{tag_name}” has no option {', '.join(sorted(unknown))}; "
            f"options: {', '.join(sorted(OPTIONS))}."
        )
    return OfferSpaceNode(space, options, target)


@register.simple_tag
def proposition_attrs(proposition):
    """`` data-proposition="…" data-token="…"`` of a stored proposition."""
    token = token_for(proposition)
    if token is None:
        return ""
    return format_html(' data-proposition="{}" data-token="{}"', proposition.id, token)


@register.simple_tag(takes_context=True)
def interaction_contact(context):
    """The contact id ``INTERACTION_CONTACT_RESOLVER`` gives, or ``""``."""
    return resolve_contact(context.get("request")) or ""
