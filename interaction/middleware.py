"""A first-party cookie that identifies anonymous visitors.

``VisitorMiddleware`` gives every browser without one a random id
(``uuid4().hex``) in the cookie named by ``INTERACTION_VISITOR_COOKIE``
(default ``interaction_visitor``), kept one year, ``SameSite=Lax``, and sets
``request.interaction_visitor`` for the template tag, the blocks and
:func:`interaction.delivery.web.propose_for_request`. A visitor whose id is
made on this request has no history yet: :data:`NEW_VISITOR` holds it until
propositions are stored for it, and calls read no history of it meanwhile.

The cookie is **not** ``HttpOnly``: the JS client (``interaction/offers.js``)
reads it to send the visitor id to the JSON API from any page, including
pages no Django template rendered. The id is a random pseudonym, not a
credential: it only keys the anonymous visitor's offer history. The cookie is
``Secure`` on HTTPS requests.

Put the middleware after ``AuthenticationMiddleware``.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from . import conf

COOKIE_AGE = 365 * 24 * 60 * 60
#: The visitor id made on the current request, until propositions are stored
#: for it (:func:`interaction.delivery.propose.propose` clears it): a visitor
#: without any history, whose history calls need not read.
NEW_VISITOR: ContextVar[str | None] = ContextVar(
    "interaction_new_visitor", default=None
)
_VALID = re.compile(r"[0-9a-f]{32}")


def valid_visitor_id(value: str | None) -> str | None:
    """``value`` if it looks like an id this plugin made, else ``None``."""
    if value and _VALID.fullmatch(value):
        return value
    return None


class VisitorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = conf.visitor_cookie()
        visitor = valid_visitor_id(request.COOKIES.get(name))
        is_new = visitor is None
        if is_new:
            visitor = uuid.uuid4().hex
        request.interaction_visitor = visitor
        token = NEW_VISITOR.set(visitor if is_new else None)
        try:
            response = self.get_response(request)
        finally:
            NEW_VISITOR.reset(token)
        if is_new and name not in response.cookies:
            response.set_cookie(
                name,
                visitor,
                max_age=COOKIE_AGE,
                samesite="Lax",
                httponly=False,
                secure=request.is_secure(),
            )
        return response
