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
    The models offered as targeting dimensions and, per model, the fields
    conditions, formulas, identification and rendering may read: a dict
    ``{"home.contact": ["email", "age", "company__name"], "auth.user": None}``
    (``None``: the model's default targetable fields), or a list of labels
    (each with its default fields). Default: every installed model outside
    Django's, Wagtail's and this plugin's own, with their default fields.
    Credentials, privileges, Wagtail pages and framework internals are never
    targetable, even when listed (see :mod:`interaction.targeting.fields`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def dimensions() -> dict[str, tuple[str, ...] | None] | None:
    """``INTERACTION_DIMENSIONS`` as ``{label: field names, or None for the
    model's default fields}``; ``None`` when not set."""
    configured = getattr(settings, "INTERACTION_DIMENSIONS", None)
    if configured is None:
        return None
    if isinstance(configured, str):
        configured = [configured]
    if not isinstance(configured, Mapping):
        return {str(label): None for label in configured}
    return {str(label): _names(names) for label, names in configured.items()}


def _names(names: Iterable[object] | str | None) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str):
        return (names,)
    return tuple(str(name) for name in names)
