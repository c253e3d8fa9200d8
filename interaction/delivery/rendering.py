"""Render an offer through a space's HTML and text templates."""

import functools

from django.template import Context, Engine
from django.template.loader import get_template

DEFAULT_HTML_TEMPLATE = "interaction/rendering/offer.html"
DEFAULT_TEXT_TEMPLATE = "interaction/rendering/offer.txt"


def render_offer(space, offer, proposition=None, contact=None) -> dict[str, str]:
    """``{"html": ..., "text": ...}`` for ``offer`` shown in ``space``."""
    context = {
        "offer": offer,
        "proposition": proposition,
        "contact": contact,
        "space": space,
    }
    return {
        "html": _render(
            space.html_template, DEFAULT_HTML_TEMPLATE, context, autoescape=True
        ),
        "text": _render(
            space.text_template, DEFAULT_TEXT_TEMPLATE, context, autoescape=False
        ),
    }


def uses_default_templates(space) -> bool:
    """Whether ``space`` renders with the default templates, which read only
    the offer: the same offer renders the same for every contact."""
    return not space.html_template.strip() and not space.text_template.strip()


def _render(source: str, default_name: str, context: dict, autoescape: bool) -> str:
    if not source.strip():
        return get_template(default_name).render(context).strip()
    return _compiled(source).render(Context(context, autoescape=autoescape)).strip()


@functools.lru_cache(maxsize=256)
def _compiled(source: str):
    """A space's template, parsed once: spaces render on every call."""
    return Engine.get_default().from_string(source)
