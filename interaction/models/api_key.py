"""API keys: the trusted callers of the JSON API (SPEC §5, inbound interfaces).

A key reads ``wik_<prefix>_<secret>``. The prefix (8 hex characters, shown in
the admin so a key can be recognised) finds the row; the secret is 32 random
bytes (URL-safe base64). The row keeps only the SHA-256 of the whole key,
compared in constant time: a 256-bit random secret needs no slow password
hash. The key in clear exists once, in the page that created it.

A key is scoped to environments: it may set a call's ``date`` and ``store``
for spaces of those environments only.

Checking a key costs no query in steady state: each process keeps the keys
that matched their row (:class:`VerifiedKey`: id, environments, revoked or
not, and the row's hash, still compared in constant time) for
``INTERACTION_API_KEY_CACHE_SECONDS`` (default 5), then reads the row again
(one query, environments included). A key that does not match is never kept,
so unknown keys cannot grow the cache (bounded anyway by
:data:`MAX_VERIFIED_KEYS`). Saving, revoking or deleting a key, or changing
its environments, empties the cache of the process that does it at once;
other processes see it within the interval (a raw ``QuerySet.update`` too).
``last_used_at`` is written at most once a minute per key and process.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import conf

KEY_PREFIX = "wik_"
_KEY = re.compile(r"wik_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
#: ``last_used_at`` is written at most this often per key.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
#: The most verified keys a process keeps (the oldest are dropped first).
MAX_VERIFIED_KEYS = 1000


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def for_user(self, user):
        """Keys whose environments are all environments ``user`` may work in."""
        from .environment import Environment

        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        allowed = Environment.objects.for_user(user).values("pk")
        return self.exclude(
            environments__in=Environment.objects.exclude(pk__in=allowed)
        )

    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A secret that lets a server call the API as a trusted caller."""

    label = models.CharField(
        _("label"), max_length=255, help_text=_("Who or what uses this key.")
    )
    prefix = models.CharField(
        _("key prefix"), max_length=8, unique=True, editable=False
    )
    hashed_key = models.CharField(_("hashed key"), max_length=64, editable=False)
    environments = models.ManyToManyField(
        "interaction.Environment",
        verbose_name=_("environments"),
        related_name="api_keys",
        help_text=_(
            "The key may set the contact date and storage of calls to spaces of "
            "these environments."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(
        _("last used at"), null=True, blank=True, editable=False
    )
    revoked_at = models.DateTimeField(
        _("revoked at"), null=True, blank=True, editable=False
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.label} ({KEY_PREFIX}{self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def issue(self) -> str:
        """Give this new key its secret; returns the key, to be shown once."""
        while True:
            prefix = secrets.token_hex(4)
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        self.prefix = prefix
        self.hashed_key = hash_key(key)
        return key

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def environment_ids(self) -> set[int]:
        """The environments of the key (the scoping of :mod:`interaction.rules`
        requires a user to work in all of them)."""
        if self.pk is None:
            return set()
        return set(self.environments.values_list("pk", flat=True))

    @classmethod
    def authenticate(cls, key: str) -> VerifiedKey | None:
        """The live key ``key`` is, or ``None``; records its use.

        No query while the process knows the key (see the module docstring).
        """
        match = _KEY.fullmatch(key)
        if match is None:
            return None
        prefix, digest = match[1], hash_key(key)
        verified = _verified.get(prefix)
        if verified is None:
            verified = _verify(prefix, digest)
        if verified is None or not hmac.compare_digest(verified.hashed_key, digest):
            return None
        if not verified.active:
            return None
        verified.touch()
        return verified


@dataclass(slots=True, eq=False)
class VerifiedKey:
    """A key that matched its row, as one process keeps it for a while."""

    id: int
    environment_ids: frozenset[int]
    active: bool
    hashed_key: str = field(repr=False)
    last_used_at: datetime.datetime | None = field(repr=False)
    #: ``time.monotonic()`` after which the row is read again.
    expires_at: float = field(repr=False)

    def touch(self) -> None:
        """Record a use: at most one UPDATE a minute per key and process."""
        now = timezone.now()
        last = self.last_used_at
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return
        self.last_used_at = now
        ApiKey.objects.filter(pk=self.id).update(last_used_at=now)


class _VerifiedKeys:
    """The keys this process verified, by prefix, each until it expires."""

    def __init__(self) -> None:
        self._keys: dict[str, VerifiedKey] = {}
        self._lock = threading.Lock()
        #: Bumped by :meth:`clear`: a lookup that began before does not store.
        self.generation = 0

    def get(self, prefix: str) -> VerifiedKey | None:
        verified = self._keys.get(prefix)
        if verified is None or time.monotonic() >= verified.expires_at:
            return None
        return verified

    def put(self, prefix: str, verified: VerifiedKey, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._keys.pop(prefix, None)
            if len(self._keys) >= MAX_VERIFIED_KEYS:
                now = time.monotonic()
                for old in [p for p, k in self._keys.items() if now >= k.expires_at]:
                    del self._keys[old]
                while len(self._keys) >= MAX_VERIFIED_KEYS:
                    del self._keys[next(iter(self._keys))]
            self._keys[prefix] = verified

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)


_verified = _VerifiedKeys()


def _verify(prefix: str, digest: str) -> VerifiedKey | None:
    """Read the key's row (one query, its environments joined); keep the key
    if ``digest`` matches."""
    generation = _verified.generation
    rows = list(
        ApiKey.objects.filter(prefix=prefix)
        .order_by()
        .values_list("pk", "hashed_key", "revoked_at", "last_used_at", "environments")
    )
    if not rows or not hmac.compare_digest(rows[0][1], digest):
        return None
    pk, hashed_key, revoked_at, last_used_at, _environment = rows[0]
    seconds = conf.api_key_cache_seconds()
    verified = VerifiedKey(
        id=pk,
        environment_ids=frozenset(row[4] for row in rows if row[4] is not None),
        active=revoked_at is None,
        hashed_key=hashed_key,
        last_used_at=last_used_at,
        expires_at=time.monotonic() + seconds,
    )
    if seconds > 0:
        _verified.put(prefix, verified, generation)
    return verified


def forget_verified_keys() -> None:
    """Read every key's row again on its next use, in this process."""
    _verified.clear()


def _key_changed(**kwargs) -> None:
    # At once, and again when the change commits: a lookup between the two
    # reads the row as it was before.
    forget_verified_keys()
    transaction.on_commit(forget_verified_keys, robust=True)


post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="interaction.api_key.saved")
post_delete.connect(
    _key_changed, sender=ApiKey, dispatch_uid="interaction.api_key.deleted"
)
m2m_changed.connect(
    _key_changed,
    sender=ApiKey.environments.through,
    dispatch_uid="interaction.api_key.environments",
)
