"""Render an offer through a space's HTML and text templates."""

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


def _render(source: str, default_name: str, context: dict, autoescape: bool) -> str:
    if not source.strip():
        return get_template(default_name).render(context).strip()
    engine = Engine.get_default()
    template = engine.from_string(source)
    return template.render(Context(context, autoescape=autoescape)).strip()
