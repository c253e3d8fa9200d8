"""Ask the engine for offers on behalf of a web request.

Shared by the ``{% offer_space %}`` tag and the StreamField blocks: the
contact comes from the function named by ``INTERACTION_CONTACT_RESOLVER``
(``request -> contact id or None``; no setting: no contact), the visitor from
:class:`interaction.middleware.VisitorMiddleware` (or its cookie).

The spaces one request renders show each offer once (one offer once per
page): the offers rendered so far are kept on the request
(:func:`page_offers`), and each later call excludes them.

A space that is unknown, not live or not real-time logs a warning and gives
``None``: a misconfigured space never breaks the page. Without a request
(previews of blocks, search indexing) or in a Wagtail preview, propositions
are not stored unless ``store`` says so.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from functools import lru_cache

from django.utils.module_loading import import_string

from .. import conf
from ..engine.call import MAX_COUNT, Call, PageOffers
from ..engine.catalogue import split_themes
from ..engine.errors import EngineError
from ..middleware import valid_visitor_id
from .propose import PropositionsResult, propose
from .tracking import proposition_token

logger = logging.getLogger(__name__)

_CONTACT_ATTR = "_interaction_contact"
_PAGE_ATTR = "_interaction_page_offers"


@lru_cache(maxsize=8)
def _resolver(path: str):
    return import_string(path)


def resolve_contact(request) -> str | None:
    """The request's contact id per ``INTERACTION_CONTACT_RESOLVER``, once per
    request."""
    if request is None:
        return None
    if hasattr(request, _CONTACT_ATTR):
        return getattr(request, _CONTACT_ATTR)
    path = conf.contact_resolver()
    contact = _resolver(path)(request) if path else None
    contact = str(contact) if contact not in (None, "") else None
    setattr(request, _CONTACT_ATTR, contact)
    return contact


def visitor_id(request) -> str | None:
    if request is None:
        return None
    visitor = getattr(request, "interaction_visitor", None)
    if visitor:
        return visitor
    return valid_visitor_id(request.COOKIES.get(conf.visitor_cookie()))


def page_offers(request) -> PageOffers | None:
    """The offers rendered so far for ``request`` (one offer once per page);
    ``None`` without a request."""
    if request is None:
        return None
    page = getattr(request, _PAGE_ATTR, None)
    if page is None:
        page = PageOffers()
        setattr(request, _PAGE_ATTR, page)
    return page


def clamp_count(count) -> int:
    try:
        count = int(count)
    except (TypeError, ValueError):
        return 1
    return max(1, min(MAX_COUNT, count))


def propose_for_request(
    request,
    space: str,
    count: int = 1,
    category: str | None = None,
    themes: str | Iterable[str] = (),
    store: bool | None = None,
    *,
    offers: Collection[int] | None = None,
    unique_offers: bool = True,
) -> PropositionsResult | None:
    """Offers of ``space`` for the request's contact or visitor, or ``None``.

    ``offers``: only these offer ids (see :func:`.propose.propose`).
    ``unique_offers``: none of the offers rendered earlier for the request
    (by a tag or block above on the page), and these are not rendered again
    by later ones; ``False``: the space is left out of that rule.
    """
    if store is None and (request is None or getattr(request, "is_preview", False)):
        store = False
    call = Call(
        space=str(space),
        contact=resolve_contact(request),
        visitor=visitor_id(request),
        count=clamp_count(count),
        category=category or None,
        themes=split_themes(themes),
        explain=False,
    )
    try:
        page = page_offers(request) if unique_offers else None
        return propose(call, store=store, offers=offers, page=page)
    except EngineError as error:
        logger.warning("No offers for space “%s”: %s", space, error)
        return None


def propose_offer_for_request(request, space: str, offer, store=None):
    """The one chosen ``offer`` shown through ``space``, if it is live and
    eligible there for this request; else ``None``."""
    if offer is None or not offer.live:
        return None
    result = propose_for_request(request, space, store=store, offers=[offer.pk])
    if result is None:
        return None
    result.propositions = [p for p in result.propositions if p.offer.pk == offer.pk]
    return result if result.propositions else None


def token_for(proposition) -> str | None:
    """The API token of a stored proposition (``None`` when not stored)."""
    if proposition.id is None:
        return None
    return proposition_token(proposition.id)


def presentation_context(result: PropositionsResult | None) -> dict:
    """Context of ``interaction/tags/offer_space.html`` for ``result``."""
    if result is None:
        return {"result": None, "items": []}
    return {
        "result": result,
        "items": [
            {"proposition": p, "token": token_for(p)} for p in result.propositions
        ],
    }
