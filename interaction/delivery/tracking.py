"""Tracked links: a signed URL that records acceptance, then redirects.

``tracked_url(proposition_id, url)`` gives the URL of the API's tracking
endpoint for one proposition and destination, on ``INTERACTION_BASE_URL``; the
signature (Django's signing, with the site's secret key) stops anyone from
forging a link that records a status or redirects elsewhere (no open
redirect). Links and status tokens expire after ``INTERACTION_SIGNATURE_MAX_AGE``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core import signing
from django.urls import reverse

from .. import conf

SALT = "interaction.track"
TOKEN_SALT = "interaction.proposition"


def is_trackable(url: str) -> bool:
    """Only absolute http(s) URLs are tracked and redirected to."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def sign_link(proposition_id: int, url: str) -> str:
    if not is_trackable(url):
        raise ValueError(f"Not an http(s) URL: {url!r}")
    return signing.dumps({"p": int(proposition_id), "u": url}, salt=SALT)


def unsign_link(signed: str) -> tuple[int, str]:
    """``(proposition id, destination)``; raises ``signing.BadSignature``."""
    data = signing.loads(signed, salt=SALT, max_age=conf.signature_max_age())
    if not isinstance(data, dict):
        raise signing.BadSignature("Malformed link.")
    proposition_id, url = data.get("p"), data.get("u")
    if not isinstance(proposition_id, int) or not isinstance(url, str):
        raise signing.BadSignature("Malformed link.")
    if not is_trackable(url):
        raise signing.BadSignature("Not an http(s) destination.")
    return proposition_id, url


def tracked_url(proposition_id: int, url: str) -> str:
    """The absolute URL of the tracking endpoint for ``proposition_id`` → ``url``."""
    path = reverse(
        "interaction_api:track", kwargs={"signed": sign_link(proposition_id, url)}
    )
    return conf.base_url() + path


def proposition_token(proposition_id: int) -> str:
    """Proves the holder was given this proposition (for status updates)."""
    return signing.dumps(int(proposition_id), salt=TOKEN_SALT)


def token_matches(token: str | None, proposition_id: int) -> bool:
    if not token:
        return False
    try:
        found = signing.loads(token, salt=TOKEN_SALT, max_age=conf.signature_max_age())
        return found == proposition_id
    except signing.BadSignature:
        return False
