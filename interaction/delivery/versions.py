"""Which compiled catalogue is current, across processes, through the database.

Publishing, unpublishing or deleting anything in the catalogue calls
:func:`invalidate`, which writes a new token in the one
:class:`~interaction.models.CatalogueVersion` row (in the publishing
transaction, so other processes see it when it commits). Each process reads
that token at most once every ``INTERACTION_VERSION_CHECK_SECONDS`` (default
1 s): a publish in another process is served within that interval, and the
check costs one indexed one-row query per interval, not per call. The
publishing process itself sees its change on its next call: :func:`changes`
counts this process's own changes, and a change it made is built at once,
where another process's is built in the background (:mod:`.snapshot`).

If the version cannot be read (database outage), the process keeps serving the
catalogue it compiled last, with a logged warning.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid

from django.db import DatabaseError, IntegrityError, transaction

from .. import conf
from ..models import CatalogueVersion

logger = logging.getLogger(__name__)

ROW = 1

_lock = threading.Lock()
#: (token, monotonic time it was read); ``None``: read it on the next call.
_known: tuple[str, float] | None = None
_warned_at = 0.0
_counter = itertools.count(1)
#: The latest number drawn from ``_counter``: changes this process made.
_changes = 0


def invalidate() -> None:
    """Make every process rebuild its compiled catalogue (this one at once)."""
    global _known
    _write(uuid.uuid4().hex)
    _known = None
    _changed()


def _changed() -> None:
    global _changes
    _changes = next(_counter)


def changes() -> int:
    """Changes this process made (or took as its own): a snapshot built before
    the latest one must not be served, even while a newer one is built."""
    return _changes


def _write(token: str) -> None:
    if not CatalogueVersion.objects.filter(pk=ROW).update(token=token):
        try:
            with transaction.atomic():
                CatalogueVersion.objects.create(pk=ROW, token=token)
        except IntegrityError:  # created meanwhile by another process
            CatalogueVersion.objects.filter(pk=ROW).update(token=token)


def forget() -> None:
    """Read the token again on the next call, and serve what it names at once,
    as after this process's own change (tests do this before each test)."""
    global _known
    _known = None
    _changed()


def current(fallback: str | None) -> str:
    """The current token, read from the database at most once per interval.

    ``fallback``: the version this process compiled last, served with a
    warning when the database cannot be read; ``None`` lets the error through.
    """
    global _known, _warned_at
    known = _known
    now = time.monotonic()
    if known is not None and now - known[1] < conf.version_check_seconds():
        return known[0]
    with _lock:
        try:
            token = (
                CatalogueVersion.objects.filter(pk=ROW)
                .values_list("token", flat=True)
                .first()
            )
        except DatabaseError:
            if fallback is None:
                raise
            if now - _warned_at > 60:
                _warned_at = now
                logger.warning(
                    "The catalogue version cannot be read; serving the catalogue "
                    "compiled last.",
                    exc_info=True,
                )
            return fallback
        if token is None:
            token = uuid.uuid4().hex
            _write(token)
            _changed()
        _known = (token, now)
        return token
