"""HTML sanitisation of offer content and space renderings, with ``nh3``.

``nh3`` binds ammonia, a maintained Rust sanitiser that parses HTML as browsers
do (html5ever) and keeps only what an allow-list names. Three allow-lists:

- :func:`sanitise_stored_html`: ``Offer.html_content`` as saved, in Wagtail's
  rich-text storage format (``<a linktype="page" id="3">``,
  ``<embed embedtype="image" …/>``, ``data-block-key``), on every save path;
- :func:`sanitise_html`: offer content once expanded for display;
- :func:`sanitise_rendering`: the final HTML a space template rendered
  (content tags plus layout: tables, sections, classes, safe inline styles).

Every allow-list keeps only http, https and mailto links (plus tel in
renderings) and relative ones, never ``javascript:`` or ``data:``; links get
``rel="noopener"``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3

CONTENT_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "br",
        "code",
        "div",
        "em",
        "h2",
        "h3",
        "h4",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "u",
        "ul",
    }
)
CONTENT_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
}
#: Values allowed for these attributes (any other value drops the attribute).
CONTENT_ATTRIBUTE_VALUES = {"a": {"target": {"_blank", "_self"}}}
#: Classes Wagtail's rich-text images carry.
CONTENT_CLASSES = {"img": {"richtext-image", "full-width", "left", "right"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener"

#: Wagtail's storage format on top of the content allow-list.
STORED_TAGS = CONTENT_TAGS | {"embed"}
STORED_ATTRIBUTES = {
    "a": {"href", "title", "linktype", "id"},
    "img": {"src", "alt", "width", "height", "class"},
    "embed": {"embedtype", "id", "format", "alt"},
    "*": {"data-block-key"},
}

#: Layout a space template may add around the content.
RENDERING_TAGS = CONTENT_TAGS | {
    "abbr",
    "article",
    "caption",
    "cite",
    "col",
    "colgroup",
    "dd",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h5",
    "h6",
    "header",
    "mark",
    "q",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
}
RENDERING_ATTRIBUTES = {
    "*": {
        "class",
        "title",
        "lang",
        "dir",
        "role",
        "aria-label",
        "aria-hidden",
        "style",
        "data-offer",
        "data-category",
        "data-rank",
    },
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading"},
    "table": {"width", "align", "border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "width", "height", "align", "valign"},
    "th": {"colspan", "rowspan", "width", "height", "align", "valign", "scope"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "time": {"datetime"},
}
RENDERING_URL_SCHEMES = URL_SCHEMES | {"tel"}
#: Inline style properties kept (no position, z-index, url(), …).
STYLE_PROPERTIES = frozenset(
    {
        "background-color",
        "border",
        "border-bottom",
        "border-collapse",
        "border-color",
        "border-left",
        "border-radius",
        "border-right",
        "border-style",
        "border-top",
        "border-width",
        "color",
        "display",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "height",
        "letter-spacing",
        "line-height",
        "margin",
        "margin-bottom",
        "margin-left",
        "margin-right",
        "margin-top",
        "max-width",
        "min-width",
        "padding",
        "padding-bottom",
        "padding-left",
        "padding-right",
        "padding-top",
        "text-align",
        "text-decoration",
        "text-transform",
        "vertical-align",
        "white-space",
        "width",
    }
)

# nh3 writes void elements HTML-style; Wagtail's storage format (its rewriter)
# needs ``<embed …/>``. Attribute values come out quoted, with ``>`` escaped.
_EMBED = re.compile(r"<embed\b([^>]*?)/?>")


def sanitise_stored_html(html: str) -> str:
    """``html`` in Wagtail's rich-text storage format, sanitised for saving."""
    if not html:
        return html or ""
    cleaned = nh3.clean(
        html,
        tags=set(STORED_TAGS),
        attributes={tag: set(names) for tag, names in STORED_ATTRIBUTES.items()},
        tag_attribute_values=CONTENT_ATTRIBUTE_VALUES,
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
    )
    return _EMBED.sub(r"<embed\1/>", cleaned)


def sanitise_html(html: str) -> str:
    """Offer content (already expanded from the storage format) for display."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in CONTENT_ATTRIBUTES.items()},
        tag_attribute_values=CONTENT_ATTRIBUTE_VALUES,
        allowed_classes=CONTENT_CLASSES,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
    )


def sanitise_rendering(html: str) -> str:
    """The HTML a space template rendered, before it leaves the server."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(RENDERING_TAGS),
        attributes={tag: set(names) for tag, names in RENDERING_ATTRIBUTES.items()},
        tag_attribute_values=CONTENT_ATTRIBUTE_VALUES,
        url_schemes=set(RENDERING_URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel=LINK_REL,
    )


def is_http_url(url: str | None) -> bool:
    """Whether ``url`` is an absolute http(s) URL (destination URLs must be)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def http_url(url: str | None) -> str:
    """``url`` if it is an absolute http(s) URL, else ``""``."""
    return url if url and is_http_url(url) else ""
