"""API keys: the trusted callers of the JSON API (SPEC §5, inbound interfaces).

A key reads ``wik_<prefix>_<secret>``. The prefix (8 hex characters, shown in
the admin so a key can be recognised) finds the row; the secret is 32 random
bytes (URL-safe base64). The row keeps only the SHA-256 of the whole key,
compared in constant time: a 256-bit random secret needs no slow password
hash, and checking a key costs one indexed query per request. The key in clear
exists once, in the page that created it.

A key is scoped to environments: it may set a call's ``date`` and ``store``
for spaces of those environments only. Revoking is immediate and final.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

KEY_PREFIX = "wik_"
_KEY = re.compile(r"wik_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
#: ``last_used_at`` is written at most this often per key.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


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
    def authenticate(cls, key: str) -> ApiKey | None:
        """The live key ``key`` is, or ``None``; records its use."""
        match = _KEY.fullmatch(key)
        if match is None:
            return None
        row = cls.objects.active().filter(prefix=match[1]).first()
        if row is None or not hmac.compare_digest(row.hashed_key, hash_key(key)):
            return None
        row.touch()
        return row

    def touch(self) -> None:
        """Record a use: at most one UPDATE a minute per key."""
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < (
            LAST_USED_RESOLUTION
        ):
            return
        ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
