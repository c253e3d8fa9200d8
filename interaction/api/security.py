"""Who calls the API, and which call options only a trusted caller may set.

Every operation runs :class:`BearerApiKey` first (the API's ``auth``): it
refuses a body over :data:`MAX_BODY_BYTES` before it is read (413), then
identifies the caller. Without an ``Authorization: Bearer`` header the call is
anonymous, as web pages are; a bearer header must hold a live API key
(:class:`interaction.models.ApiKey`), or the call is refused (401). A key the
process checked recently costs no query (see :mod:`interaction.models.api_key`).

Anonymous callers get the space's storage setting and the current date:
``date`` and ``store`` can change what a global cap counts, so only a trusted
caller may set them (:func:`check_trusted_options`):

- an API key, for a space of one of its environments (and, when the space
  falls back to an anonymous space, for that space's environment too);
- a staff session (an active ``is_staff`` user) whose request passes Django's
  CSRF check, so another site cannot make a staff member's browser set them;
- server-side code (the template tag, the blocks, the previews), which calls
  :func:`interaction.delivery.propose.propose` directly, not this API.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from ..delivery.snapshot import get_snapshot
from ..models import ApiKey
from ..models.api_key import VerifiedKey

#: The largest request body the API reads (a batch of 20 calls fits many times).
MAX_BODY_BYTES = 64 * 1024
#: Call options only a trusted caller may set.
TRUSTED_OPTIONS = ("store", "date")


class BodyTooLarge(Exception):
    """The request body is over :data:`MAX_BODY_BYTES` (413)."""


class NotTrusted(Exception):
    """The caller may not set ``option`` on this call (403)."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


@dataclass
class Caller:
    """What ``request.auth`` holds: the API key of the call, if any."""

    key: VerifiedKey | None = None

    def key_environment_ids(self) -> frozenset[int]:
        return self.key.environment_ids if self.key else frozenset()


def check_body_size(request: HttpRequest) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"The request body is over {MAX_BODY_BYTES} bytes.")


class BearerApiKey(HttpBearer):
    """``Authorization: Bearer <API key>``, optional: see the module docstring."""

    openapi_bearerFormat = "wik_<prefix>_<secret>"
    openapi_description = (
        "An API key created by an Interaction administrator in the admin "
        "(Interaction › API keys), sent as `Authorization: Bearer <key>`. "
        "Optional: without it a call is anonymous. Only a key (for a space of "
        "one of its environments) or a staff session may set `date` and "
        "`store`. An unknown or revoked key is refused with 401."
    )

    def __call__(self, request: HttpRequest) -> Caller:
        check_body_size(request)
        # META rather than request.headers, which copies every header first.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer":
            # No header, or another scheme (e.g. HTTP basic auth in front of a
            # staging site): an anonymous call.
            return Caller()
        return Caller(key=self.authenticate(request, token.strip()))

    def authenticate(self, request: HttpRequest, token: str) -> VerifiedKey:
        key = ApiKey.authenticate(token)
        if key is None:
            raise HttpError(401, "Unknown or revoked API key.")
        return key


def check_trusted_options(request: HttpRequest, space: str, options: dict) -> None:
    """Raise :class:`NotTrusted` if the caller may not set these ``options``
    (``{name: value}``, ``None`` meaning not set) on a call to ``space``."""
    sent = [name for name in TRUSTED_OPTIONS if options.get(name) is not None]
    if not sent:
        return
    caller = getattr(request, "auth", None)
    if isinstance(caller, Caller) and caller.key is not None:
        reached = _environments_reached(space)
        # An unknown space: the engine answers 404.
        if reached is None or reached <= caller.key_environment_ids():
            return
        raise NotTrusted(
            sent[0],
            f"This API key may not set “{sent[0]}” on space “{space}”: the key "
            "is not scoped to its environment.",
        )
    if _is_staff_session(request):
        return
    raise NotTrusted(
        sent[0],
        f"Only a trusted caller may set “{sent[0]}”: send an API key "
        "(Authorization: Bearer …); anonymous calls get the space's storage "
        "setting and the current date.",
    )


def _environments_reached(space_code: str) -> set[int] | None:
    """The environments a call to ``space_code`` may store in, or ``None``."""
    spaces = get_snapshot().catalogue.spaces
    space = spaces.get(space_code)
    if space is None:
        return None
    reached = {space.environment_id}
    fallback = spaces.get(space.fallback_space_code or "")
    if fallback is not None:
        reached.add(fallback.environment_id)
    return reached


def _is_staff_session(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return check_csrf(request) is None
