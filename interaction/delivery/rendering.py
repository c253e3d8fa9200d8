"""Render an offer through a space's HTML and text templates, in the sandbox.

Space templates render in :mod:`.sandbox` over plain data only (never model
instances), the same for the default templates below:

- ``offer``: code, label, category (its code), category_label, title,
  destination_url (http(s) only, else empty), image (URL of the original),
  image_alt, image_banner (url, width, height of its 640×320 crop, or empty),
  html_content (sanitised HTML, shown as is), text_content;
- ``proposition``: id, rank, weight, tracked_url (URL of the signed link that
  records acceptance; empty unless stored with an http(s) destination);
- ``contact``: the contact's targetable attributes the engine read;
- ``space``: code, label, channel.

A space template that fails or goes past a sandbox bound renders the default
instead, with a logged warning; HTML a space template rendered is sanitised
(:func:`.sanitise.sanitise_rendering`) before it leaves the server.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.template import TemplateSyntaxError
from django.utils.lorem_ipsum import COMMON_P
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from wagtail.images.shortcuts import get_rendition_or_not_found
from wagtail.rich_text import expand_db_html

from ..engine.conditions import BOOL, DATE, DATETIME, NUMBER
from . import sandbox
from .sanitise import http_url, sanitise_html, sanitise_rendering

logger = logging.getLogger(__name__)

#: The crop of ``offer.image_banner`` (the default rendering shows it).
IMAGE_BANNER_FILTER = "fill-640x320"

DEFAULT_HTML_TEMPLATE = (
    '<div class="interaction-offer" data-offer="{{ offer.code }}">\n'
    "  {% if offer.image_banner %}"
    '<img alt="{{ offer.image_alt }}" class="interaction-offer__image"'
    ' height="{{ offer.image_banner.height }}" src="{{ offer.image_banner.url }}"'
    ' width="{{ offer.image_banner.width }}">{% endif %}\n'
    '  {% if offer.title %}<h3 class="interaction-offer__title">'
    '{% if offer.destination_url %}<a href="{{ offer.destination_url }}">'
    "{{ offer.title }}</a>{% else %}{{ offer.title }}{% endif %}</h3>{% endif %}\n"
    "  {% if offer.html_content %}"
    '<div class="interaction-offer__body">{{ offer.html_content }}</div>'
    "{% elif offer.text_content %}"
    '<p class="interaction-offer__body">{{ offer.text_content }}</p>{% endif %}\n'
    "</div>\n"
)
DEFAULT_TEXT_TEMPLATE = (
    "{% autoescape off %}{{ offer.title|default:offer.label }}"
    "{% if offer.text_content %}\n{{ offer.text_content }}{% endif %}"
    "{% if offer.destination_url %}\n{{ offer.destination_url }}{% endif %}"
    "{% endautoescape %}\n"
)

#: Every variable a space template can use, for the space form's help.
VARIABLES = (
    "offer.code, offer.label, offer.category (code), offer.category_label, "
    "offer.title, offer.destination_url, offer.image (URL), offer.image_alt, "
    "offer.image_banner.url / .width / .height (640×320 crop), "
    "offer.html_content (sanitised HTML), offer.text_content; "
    "proposition.id, proposition.rank, proposition.weight, "
    "proposition.tracked_url (link that records acceptance); "
    "contact.<field> for each targetable field of the environment's contacts "
    "(empty for visitors); space.code, space.label, space.channel"
)


def render_offer(
    space,
    offer,
    proposition: Mapping[str, Any] | None = None,
    contact: Mapping[str, Any] | None = None,
    *,
    offer_data: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """``{"html": ..., "text": ...}`` for ``offer`` shown in ``space``.

    ``offer_data`` is ``offer_context(offer)`` when the caller has it already.
    """
    context = {
        "offer": offer_context(offer) if offer_data is None else offer_data,
        "proposition": proposition_context(proposition),
        "contact": contact_context(contact),
        "space": space_context(space),
    }
    return {
        "html": _render(space, "HTML", space.html_template, context, html=True),
        "text": _render(space, "text", space.text_template, context, html=False),
    }


def uses_default_templates(space) -> bool:
    """Whether ``space`` renders with the default templates, which read only
    the offer: the same offer renders the same for every contact."""
    return not space.html_template.strip() and not space.text_template.strip()


def offer_context(offer) -> sandbox.FrozenDict:
    """The ``offer`` of a rendering context: plain data from the offer's fields."""
    category = offer.category if offer.category_id else None
    data: dict[str, Any] = {
        "code": offer.code,
        "label": offer.label,
        "category": category.code if category else "",
        "category_label": category.label if category else "",
        "title": offer.title,
        "destination_url": http_url(offer.destination_url),
        "image": "",
        "image_alt": "",
        "image_banner": None,
        "html_content": display_html(offer),
        "text_content": offer.text_content,
    }
    image = offer.image if offer.image_id else None
    if image is not None:
        try:
            data["image"] = image.file.url
            banner = get_rendition_or_not_found(image, IMAGE_BANNER_FILTER)
            data["image_alt"] = banner.alt
            data["image_banner"] = {
                "url": banner.url,
                "width": banner.width,
                "height": banner.height,
            }
        except Exception:  # a broken image file must not break the call
            logger.warning("Offer “%s”: its image cannot be shown.", offer.code)
    return sandbox.plain(data, "offer")


def display_html(offer) -> str:
    """The offer's rich text expanded for display, then sanitised."""
    stored = offer.html_content or ""
    if not stored:
        return ""
    try:
        expanded = expand_db_html(stored)
    except Exception:  # e.g. stored by code with a malformed reference
        logger.warning("Offer “%s”: its HTML content cannot be expanded.", offer.code)
        expanded = stored
    return mark_safe(sanitise_html(expanded))


def proposition_context(proposition: Mapping[str, Any] | None) -> dict[str, Any]:
    values = dict(proposition or {})
    return {
        "id": values.get("id"),
        "rank": values.get("rank"),
        "weight": values.get("weight"),
        # A path of ours (/…) or an http(s) URL, never another scheme.
        "tracked_url": values.get("tracked_url")
        if _is_link(values.get("tracked_url"))
        else None,
    }


def _is_link(url: Any) -> bool:
    """A path of this site (``/…``) or an http(s) URL, nothing else."""
    if not isinstance(url, str) or not url:
        return False
    if url.startswith("/"):
        return url[1:2] not in ("/", "\\")
    return bool(http_url(url))


def contact_context(contact: Mapping[str, Any] | None) -> dict[str, Any]:
    """The contact's attributes as plain data (a value that is not is left out)."""
    values = {}
    for name, value in (contact or {}).items():
        try:
            values[str(name)] = sandbox.plain(value)
        except TypeError:
            continue
    return values


def space_context(space) -> dict[str, str]:
    return {"code": space.code, "label": space.label, "channel": space.channel}


def _render(space, kind: str, source: str, context: dict, *, html: bool) -> str:
    if (source or "").strip():
        try:
            output = sandbox.render(
                sandbox.compile_template(source), context, autoescape=html
            )
            return (sanitise_rendering(output) if html else output).strip()
        except Exception as error:  # hostile or broken: never a 500
            logger.warning(
                "Offer space “%s”: its %s template cannot be rendered (%s: %s); "
                "the default rendering is used.",
                space.code,
                kind,
                type(error).__name__,
                error,
            )
    default = DEFAULT_HTML_TEMPLATE if html else DEFAULT_TEXT_TEMPLATE
    return sandbox.render(
        sandbox.compile_template(default), context, autoescape=html
    ).strip()


# Validation of a space's templates (OfferSpace.clean) ----------------------------

_SAMPLE_BY_KIND = {
    NUMBER: 42,
    BOOL: True,
    DATE: datetime.date(2024, 1, 31),
    DATETIME: datetime.datetime(2024, 1, 31, 12, 0, tzinfo=datetime.UTC),
}


def sample_context(space) -> dict[str, Any]:
    """A context with every variable set to a realistic value."""
    contact = {}
    environment = space.environment if space.environment_id else None
    if environment is not None:
        fields = environment.condition_schema().contact_fields
        contact = {
            name: _SAMPLE_BY_KIND.get(spec.kind, f"Sample {name}")
            for name, spec in fields.items()
        }
    return {
        "offer": {
            "code": "sample-offer",
            "label": "Sample offer",
            "category": "sample-category",
            "category_label": "Sample category",
            "title": "A sample offer title",
            "destination_url": "https://example.com/offer",
            "image": "/media/original_images/sample.jpg",
            "image_alt": "A sample image",
            "image_banner": {
                "url": "/media/images/sample.fill-640x320.jpg",
                "width": 640,
                "height": 320,
            },
            "html_content": mark_safe(f"<p>{COMMON_P}</p><p>{COMMON_P}</p>"),
            "text_content": COMMON_P,
        },
        "proposition": {
            "id": 1,
            "rank": 1,
            "weight": 1.0,
            "tracked_url": "/api/interaction/v1/t/sample/",
        },
        "contact": contact,
        "space": space_context(space),
    }


def template_errors(space) -> dict[str, list[str]]:
    """Per template field of ``space``, why the sandbox refuses it."""
    errors: dict[str, list[str]] = {}
    sample = None
    for name, html in (("html_template", True), ("text_template", False)):
        source = getattr(space, name) or ""
        if not source.strip():
            continue
        try:
            template = sandbox.compile_template(source)
        except TemplateSyntaxError as error:
            errors[name] = [_("Template error: %(error)s") % {"error": error}]
            continue
        if sample is None:
            sample = sample_context(space)
        try:
            sandbox.render(template, sample, autoescape=html)
        except sandbox.UnknownVariable as error:
            errors[name] = [
                _(
                    "Template error: %(error)s. The variables are: %(known)s; "
                    "this environment's contact fields: %(fields)s."
                )
                % {
                    "error": error,
                    "known": VARIABLES,
                    "fields": ", ".join(sorted(sample["contact"])) or "none",
                }
            ]
        except Exception as error:
            errors[name] = [
                _("Template error when rendered with sample data: %(error)s")
                % {"error": f"{type(error).__name__}: {error}"}
            ]
    return errors
