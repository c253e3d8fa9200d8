"""The JSON HTTP API (django-ninja), versioned and described by OpenAPI.

Mounted by :mod:`interaction.urls` under ``api/interaction/v1/``:

- ``POST propose``: offers for a contact or visitor in a space (open to
  anonymous callers: it reads the live catalogue only, and writes only the
  propositions it makes); ``POST propose/batch``: several such calls in one
  request (what the JS client sends for a page);
- ``POST propositions/{id}/status``: a proposition's new status, authorised
  by the signed ``token`` the propose response gave for that proposition;
- ``GET t/{signed}``: a tracked link, records acceptance then redirects.

Callers are anonymous unless they send an API key (:mod:`.security`, which
also decides who may set ``date`` and ``store``). Errors are JSON with the
statuses :mod:`.errors` lists: ``{"detail": "..."}``, or for bad input (422)
ninja's list of ``{"type", "loc", "msg"}`` naming the field.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core import signing
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseRedirect
from ninja import NinjaAPI, Status

from ..delivery.propose import RenderedProposition
from ..delivery.propose import propose as propose_offers
from ..delivery.storage import update_status as move_status
from ..delivery.tracking import (
    proposition_token,
    token_matches,
    unsign_link,
)
from ..engine.call import Call, PageOffers
from ..engine.errors import EngineError
from ..models import Proposition
from ..models.choices import PropositionStatus
from .errors import (
    ENGINE_ERROR_STATUS,
    JSONParser,
    api_urls,
    register_error_handlers,
)
from .schemas import (
    Error,
    ProposeBatchIn,
    ProposeBatchOut,
    ProposeIn,
    ProposeOut,
    StatusIn,
    StatusOut,
    ValidationErrors,
)
from .security import BearerApiKey, NotTrusted, check_trusted_options

logger = logging.getLogger(__name__)

MAX_ID = 2**63 - 1

#: What every operation may also answer (see :mod:`.errors`).
COMMON_RESPONSES = {
    401: Error,
    413: Error,
    422: ValidationErrors,
    500: Error,
    503: Error,
}
#: The API key is optional: an operation takes anonymous calls too ("{}").
OPTIONAL_KEY: dict[str, Any] = {"security": [{}]}

api = NinjaAPI(
    title="Wagtail Interaction API",
    version="1",
    description=(
        "Real-time offers for a contact or visitor in an offer space, and "
        "status updates of the propositions made."
    ),
    urls_namespace="interaction_api",
    parser=JSONParser(),
    auth=BearerApiKey(),
)
register_error_handlers(api)


@api.post(
    "/propose",
    response={200: ProposeOut, 403: Error, 404: Error, 409: Error, **COMMON_RESPONSES},
    summary="Propose offers",
    url_name="propose",
    openapi_extra=OPTIONAL_KEY,
)
def propose(request, payload: ProposeIn):
    """The best offers of a space for one contact or visitor, rendered.

    403: ``date`` or ``store`` sent by a caller who may not set them."""
    try:
        result = _propose(request, payload)
    except EngineError as error:
        return Status(ENGINE_ERROR_STATUS[type(error)], {"detail": str(error)})
    # Built to match ProposeOut (the tests check it); skipping ninja's output
    # validation saves a tenth of a millisecond on the busiest endpoint.
    return api.create_response(request, result, status=200)


@api.post(
    "/propose/batch",
    response={200: ProposeBatchOut, **COMMON_RESPONSES},
    summary="Propose offers for several spaces at once",
    url_name="propose_batch",
    openapi_extra=OPTIONAL_KEY,
)
def propose_batch(request, payload: ProposeBatchIn):
    """Every space of a page in one request; each call is answered in order, and
    one unknown or batch-only space, or a call that fails, does not fail the
    others (only a database outage fails the request: 503).

    ``unique_offers``: one offer once per page (see the schema)."""
    page = None
    if payload.unique_offers:
        page = PageOffers()
        page.add("", payload.shown_offers)
    results = []
    for call in payload.calls:
        try:
            results.append({"status": 200, "result": _propose(request, call, page)})
        except EngineError as error:
            status = ENGINE_ERROR_STATUS[type(error)]
            results.append({"status": status, "detail": str(error)})
        except NotTrusted as error:
            results.append({"status": 403, "detail": str(error)})
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("Call %r of a batch failed", call.space)
            results.append({"status": 500, "detail": "Internal server error."})
    return {"results": results}


def _propose(request, payload: ProposeIn, page: PageOffers | None = None) -> dict:
    check_trusted_options(
        request, payload.space, {"date": payload.date, "store": payload.store}
    )
    call = Call(
        space=payload.space,
        contact=None if payload.contact is None else str(payload.contact),
        visitor=None if payload.visitor is None else str(payload.visitor),
        count=payload.count,
        category=payload.category or None,
        themes=tuple(payload.themes),
        context=payload.context,
        date=payload.date,
        seed=payload.seed,
        explain=False,
    )
    result = propose_offers(call, store=payload.store, page=page)
    return {
        "interaction": result.interaction_id,
        "identified": result.identified,
        "space": result.space_code,
        "propositions": [_proposition(request, p) for p in result.propositions],
        "reason": result.reason or None,
    }


def _proposition(request, rendered: RenderedProposition) -> dict:
    offer = rendered.offer
    data = {
        "id": rendered.id,
        "rank": rendered.rank,
        "weight": rendered.weight,
        "offer": {
            "code": offer.code,
            "label": offer.label,
            "category": rendered.category_code,
        },
        "content": rendered.content,
        "html": rendered.html,
        "text": rendered.text,
        "token": None if rendered.id is None else proposition_token(rendered.id),
        # On INTERACTION_BASE_URL, never on the caller's Host header.
        "tracked_url": rendered.tracked_url,
    }
    return data


@api.post(
    "/propositions/{id}/status",
    response={200: StatusOut, 403: Error, 404: Error, **COMMON_RESPONSES},
    summary="Update a proposition's status",
    url_name="proposition_status",
    openapi_extra=OPTIONAL_KEY,
)
def update_status(request, id: int, payload: StatusIn):
    """Set the status now; the same status again changes nothing."""
    proposition = _get_proposition(id)
    if proposition is None:
        return Status(404, {"detail": f"No proposition {id}."})
    if not token_matches(payload.token, proposition.pk):
        return Status(403, {"detail": "Missing or invalid token for this proposition."})
    status: str = payload.status
    if status == PropositionStatus.ACCEPTED:
        status = _accepted_status(proposition)
    move_status(proposition, str(status))
    return Status(200, _status_out(proposition))


@api.get(
    "/t/{signed}",
    response={302: None, 404: Error, **COMMON_RESPONSES},
    summary="Follow a tracked link",
    url_name="track",
    openapi_extra=OPTIONAL_KEY,
)
def track(request, signed: str):
    """Record the proposition's acceptance, then redirect to the offer."""
    try:
        proposition_id, url = unsign_link(signed)
    except signing.BadSignature:
        return Status(404, {"detail": "Unknown or tampered link."})
    proposition = _get_proposition(proposition_id)
    if proposition is not None:
        move_status(proposition, _accepted_status(proposition))
    # A purged proposition still leads to its offer: the link itself is genuine.
    return HttpResponseRedirect(url)


def _get_proposition(pk: int) -> Proposition | None:
    if not 1 <= pk <= MAX_ID:
        return None
    return Proposition.objects.select_related("space").filter(pk=pk).first()


def _accepted_status(proposition: Proposition) -> str:
    if proposition.space is not None and proposition.space.accepted_status:
        return proposition.space.accepted_status
    return PropositionStatus.ACCEPTED


def _status_out(proposition: Proposition) -> dict:
    return {
        "id": proposition.pk,
        "status": proposition.status,
        "offer": proposition.offer_code,
        "space": proposition.space.code if proposition.space else None,
        "rank": proposition.rank,
        "weight": proposition.weight,
        "interaction": proposition.interaction_id,
    }


#: What :mod:`interaction.urls` mounts: the API, with JSON for unknown URLs too.
urls = api_urls(api)
