"""Signed status tokens and tracked links (a URL that records acceptance, then
redirects).

``proposition_token(id)`` proves its holder was given that proposition (the
API's status updates ask for it). ``tracked_url(proposition_id, url)`` gives
the URL of the API's tracking endpoint for one proposition and destination, on
``INTERACTION_BASE_URL``; its signature stops anyone from forging a link that
records a status or redirects elsewhere (no open redirect: only http(s)
destinations are signed, and checked again when followed).

Both are signed by :class:`CompactSigner`: ``<value>.<time>.<signature>``,
the signature an HMAC-SHA256 of the value and the signing time (Unix seconds,
hex), keyed by a key derived once per process from the site's ``SECRET_KEY``
and a salt per purpose, so a token is never a valid link nor the reverse.
Verification accepts a signature made with ``SECRET_KEY`` or any of
``SECRET_KEY_FALLBACKS`` (key rotation), within
``INTERACTION_SIGNATURE_MAX_AGE``. This is Django's ``TimestampSigner`` scheme
without its cost per signature (deriving the key from the secret, JSON and
base64 of a payload): signing one proposition's token and link takes a few
microseconds.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.signing import BadSignature, SignatureExpired
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.encoding import force_bytes
from django.utils.translation import get_language

from .. import conf

SALT = "interaction.track"
TOKEN_SALT = "interaction.proposition"

#: The longest signed value read (a link to a URL of 4,000 characters fits).
MAX_SIGNED_LENGTH = 6000
#: ``<value>.<time>.<signature>``: time in hex, signature in URL-safe base64.
_SIGNED = re.compile(r"(.+)\.([0-9a-f]{1,12})\.([A-Za-z0-9_-]{43})", re.DOTALL)
#: A link's value: ``<proposition id>.<destination in URL-safe base64>``.
_LINK = re.compile(r"([0-9]{1,19})\.([A-Za-z0-9_-]{1,5500})")


@functools.lru_cache(maxsize=32)
def _key(secret: str | bytes, salt: str) -> bytes:
    """The HMAC-SHA256 key of ``secret`` and ``salt``."""
    return hmac.new(
        force_bytes(secret), b"interaction.signing:" + salt.encode(), hashlib.sha256
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CompactSigner:
    """Signs short ASCII values with a timestamp; see the module docstring."""

    def __init__(self, salt: str):
        self.salt = salt

    def _signature(self, secret: str | bytes, message: str) -> str:
        return _b64(hmac.digest(_key(secret, self.salt), message.encode(), "sha256"))

    def sign(self, value: str, now: float | None = None) -> str:
        stamped = f"{value}.{int(time.time() if now is None else now):x}"
        return f"{stamped}.{self._signature(settings.SECRET_KEY, stamped)}"

    def unsign(self, signed: str, max_age: float) -> str:
        """The value of ``signed``; raises ``BadSignature`` (or
        ``SignatureExpired``, a subclass)."""
        match = (
            _SIGNED.fullmatch(signed)
            if isinstance(signed, str) and len(signed) <= MAX_SIGNED_LENGTH
            else None
        )
        if match is None:
            raise BadSignature("Malformed signature.")
        value, stamp, signature = match.groups()
        stamped = f"{value}.{stamp}"
        given = signature.encode()
        secrets = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
        if not any(
            hmac.compare_digest(given, self._signature(secret, stamped).encode())
            for secret in secrets
        ):
            raise BadSignature("Signature does not match.")
        age = time.time() - int(stamp, 16)
        if age > max_age:
            raise SignatureExpired(f"Signature age {age} > {max_age} seconds.")
        return value


LINKS = CompactSigner(SALT)
TOKENS = CompactSigner(TOKEN_SALT)


def is_trackable(url: str) -> bool:
    """Only absolute http(s) URLs are tracked and redirected to."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def sign_link(proposition_id: int, url: str) -> str:
    """The signed part of a tracked link: ``<id>.<url, base64>.<time>.<mac>``."""
    if not is_trackable(url):
        raise ValueError(f"Not an http(s) URL: {url!r}")
    return LINKS.sign(f"{int(proposition_id)}.{_b64(url.encode())}")


def unsign_link(signed: str) -> tuple[int, str]:
    """``(proposition id, destination)``; raises ``signing.BadSignature``."""
    match = _LINK.fullmatch(LINKS.unsign(signed, conf.signature_max_age()))
    if match is None:
        raise BadSignature("Malformed link.")
    try:
        url = _unb64(match[2]).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise BadSignature("Malformed link.") from error
    if not is_trackable(url):
        raise BadSignature("Not an http(s) destination.")
    return int(match[1]), url


#: Stands for the signed part when the tracking URL is reversed once.
_PLACEHOLDER = "SIGNED-PART"
_track_paths: dict[tuple[Any, ...], tuple[str, str]] = {}


def _track_path() -> tuple[str, str]:
    """The tracking endpoint's path around its signed part, reversed once per
    URLconf, script prefix and language (``NoReverseMatch`` if not mounted)."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    key: tuple[Any, ...] = (urlconf, get_script_prefix())
    if is_language_prefix_patterns_used(urlconf)[0]:
        key += (get_language(),)
    known = _track_paths.get(key)
    if known is not None:
        return known
    path = reverse("interaction_api:track", kwargs={"signed": _PLACEHOLDER})
    before, found, after = path.rpartition(_PLACEHOLDER)
    if not found:  # never: the signed part is a plain path segment
        raise NoReverseMatch(f"Unexpected tracking URL: {path}")
    if len(_track_paths) > 64:
        _track_paths.clear()
    _track_paths[key] = (before, after)
    return before, after


def tracked_url(proposition_id: int, url: str) -> str:
    """The absolute URL of the tracking endpoint for ``proposition_id`` → ``url``."""
    return tracked_urls()(proposition_id, url)


def tracked_urls() -> Callable[[int, str], str]:
    """:func:`tracked_url` for the propositions of one request: the tracking
    path and the site's root looked up once (a few context-local lookups that
    cost more than signing)."""
    before, after = _track_path()
    root = conf.base_url()

    def url(proposition_id: int, destination: str) -> str:
        return f"{root}{before}{sign_link(proposition_id, destination)}{after}"

    return url


def proposition_token(proposition_id: int) -> str:
    """Proves the holder was given this proposition (for status updates)."""
    return TOKENS.sign(str(int(proposition_id)))


def token_matches(token: str | None, proposition_id: int) -> bool:
    if not token:
        return False
    try:
        return TOKENS.unsign(token, conf.signature_max_age()) == str(proposition_id)
    except BadSignature:
        return False
