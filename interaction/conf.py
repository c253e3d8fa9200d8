"""The plugin's settings, read in one place, each with its default.

Read through these functions (not at import time), so that
``override_settings`` in tests and settings changed at start-up both apply.

``INTERACTION_VERSION_CHECK_SECONDS``
    How often each process checks, in the database, whether the live
    catalogue changed (default 1 second): the longest a publish in another
    process waits to be served.
``INTERACTION_BUILD_IN_BACKGROUND``
    Whether a process that already serves a compiled catalogue rebuilds it in
    a background thread when another process changed it, serving the previous
    one meanwhile, so that no call waits for a build (default ``True``). A
    process's own changes are always built at once, on its next call; so is
    its first catalogue. ``False``: every rebuild blocks the call that sees it.
    See :mod:`interaction.delivery.snapshot`.
``INTERACTION_GC_FREEZE``
    Whether each built catalogue is moved out of the garbage collector's
    reach with ``gc.freeze()``, and automatic collection paused while one is
    built (default ``True``), so that full collections do not walk it; see
    :mod:`interaction.delivery.warm`. ``False`` leaves the collector alone.
``INTERACTION_ASYNC_COMMIT``
    Whether storing a call's propositions (and the global caps' counters it
    takes) commits without waiting for PostgreSQL to flush its log to disk
    (``synchronous_commit`` off for that statement only; default ``True``).
    A page that stores its offers then costs no disk flush: about 3 ms on a
    virtual machine's disk, more than the rest of the call. The price: if the
    database *server* crashes, the propositions of the last fraction of a
    second (up to three times ``wal_writer_delay``, 0.6 s by default) may be
    lost, each call's rows with the counters it took in the same statement.
    On the rare path where a budget ran out while the call was storing, the
    counters are taken first, waiting for the disk: they may then outlive
    the lost rows (a budget counting a few propositions too many, never too
    few). Storing inside the caller's transaction (``ATOMIC_REQUESTS``,
    ``atomic()``) always waits, as the rest of that transaction does.
    ``False``: every store waits for the disk.
``INTERACTION_PREPARED_STATEMENTS``
    Whether the engine's readers run as server-side prepared statements on
    PostgreSQL (``PREPARE`` once per database connection, then ``EXECUTE``;
    default ``True``): PostgreSQL then plans the contact's read (the contact,
    its history counted per rule, the used-up budgets) once per connection
    instead of on every call, about 0.4 ms of a call's 0.5 ms read on the
    bench's data. Only with persistent connections (``CONN_MAX_AGE`` not 0,
    or a connection pool): a connection closed after each request sends SQL.
    Set ``False`` behind a pooler that shares a connection's session between
    clients (PgBouncer in transaction pooling mode), where a statement
    prepared by one client is not there for the next.
``INTERACTION_BASE_URL``
    The site's public root URL, e.g. ``https://www.example.com``, for the
    tracked links the API gives (default ``WAGTAILADMIN_BASE_URL``): never the
    request's ``Host`` header, which a caller chooses.
``INTERACTION_SIGNATURE_MAX_AGE``
    How long, in seconds, tracked links and status tokens stay valid (default
    90 days).
``INTERACTION_API_KEY_CACHE_SECONDS``
    How long each process trusts an API key it checked before reading its
    row again (default 5 seconds; 0: every call reads it): the longest a key
    revoked, deleted or re-scoped in another process keeps working there.
    The process that revokes it refuses it at once.
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


def version_check_seconds() -> float:
    return float(getattr(settings, "INTERACTION_VERSION_CHECK_SECONDS", 1.0))


def build_in_background() -> bool:
    return bool(getattr(settings, "INTERACTION_BUILD_IN_BACKGROUND", True))


def gc_freeze() -> bool:
    return bool(getattr(settings, "INTERACTION_GC_FREEZE", True))


def async_commit() -> bool:
    return bool(getattr(settings, "INTERACTION_ASYNC_COMMIT", True))


def prepared_statements() -> bool:
    return bool(getattr(settings, "INTERACTION_PREPARED_STATEMENTS", True))


def base_url() -> str:
    url = getattr(settings, "INTERACTION_BASE_URL", None) or getattr(
        settings, "WAGTAILADMIN_BASE_URL", None
    )
    return str(url or "").rstrip("/")


def signature_max_age() -> int:
    return int(getattr(settings, "INTERACTION_SIGNATURE_MAX_AGE", 90 * 24 * 3600))


def api_key_cache_seconds() -> float:
    return float(getattr(settings, "INTERACTION_API_KEY_CACHE_SECONDS", 5.0))


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
