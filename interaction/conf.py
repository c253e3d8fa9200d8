"""The plugin's settings, read in one place, each with its default.

Read through these functions (not at import time), so that
``override_settings`` in tests and settings changed at start-up both apply.

``INTERACTION_CACHE``
    Cache alias shared by every process for the catalogue version token
    (default ``"default"``).
``INTERACTION_CONTACT_RESOLVER``
    Dotted path of ``request -> contact id or None``: who a page's offers are
    for (default: nobody, so pages serve anonymous visitors).
``INTERACTION_VISITOR_COOKIE``
    Name of the first-party cookie identifying anonymous visitors (default
    ``"interaction_visitor"``).
``INTERACTION_DIMENSIONS``
    Model labels offered as targeting dimensions (default: every installed
    model outside Django's and Wagtail's internals).
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_VISITOR_COOKIE = "interaction_visitor"


def cache_alias() -> str:
    return getattr(settings, "INTERACTION_CACHE", None) or "default"


def contact_resolver() -> str | None:
    return getattr(settings, "INTERACTION_CONTACT_RESOLVER", None) or None


def visitor_cookie() -> str:
    return getattr(settings, "INTERACTION_VISITOR_COOKIE", None) or (
        DEFAULT_VISITOR_COOKIE
    )


def dimensions() -> list[str] | None:
    configured = getattr(settings, "INTERACTION_DIMENSIONS", None)
    return None if configured is None else list(configured)
