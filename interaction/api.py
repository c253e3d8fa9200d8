"""The JSON HTTP API (django-ninja), versioned and described by OpenAPI.

Mounted by :mod:`interaction.urls` under ``api/interaction/v1/``:

- ``POST propose``: offers for a contact or visitor in a space (open to
  anonymous callers: it reads the live catalogue only, and writes only the
  propositions it makes); ``POST propose/batch``: several such calls in one
  request (what the JS client sends for a page);
- ``POST propositions/{id}/status``: a proposition's new status, authorised
  by the signed ``token`` the propose response gave for that proposition;
- ``GET t/{signed}``: a tracked link, records acceptance then redirects.

Errors are JSON: ``{"detail": "..."}``, or for bad input (422) ninja's list
of ``{"type", "loc", "msg"}`` naming the field.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Annotated, Any

from django.core import signing
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema, Status
from ninja.errors import HttpError
from ninja.parser import Parser
from pydantic import StrictBool, StrictInt, StrictStr

from . import services
from .engine.call import Call, EngineError, SpaceNotUnitary, UnknownSpace
from .models import Proposition
from .models.space import PropositionStatus
from .tracking import (
    is_trackable,
    proposition_token,
    token_matches,
    tracked_url,
    unsign_link,
)

MAX_COUNT = 100
MAX_BATCH = 20
#: What /propose answers when the engine refuses a call.
ENGINE_ERROR_STATUS = {UnknownSpace: 404, SpaceNotUnitary: 409}
MAX_ID = 2**63 - 1


class MalformedBody(ValueError):
    """The request body is not JSON."""


class _JSONParser(Parser):
    def parse_body(self, request: HttpRequest):
        try:
            return json.loads(request.body)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            raise MalformedBody(str(error)) from error


api = NinjaAPI(
    title="Wagtail Interaction API",
    version="1",
    description=(
        "Real-time offers for a contact or visitor in an offer space, and "
        "status updates of the propositions made."
    ),
    urls_namespace="interaction_api",
    parser=_JSONParser(),
)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # ninja turns a body that cannot be parsed into a 400; it is bad input: 422.
    if isinstance(exc.__cause__, MalformedBody):
        return api.create_response(
            request,
            {
                "detail": [
                    {
                        "type": "json_invalid",
                        "loc": ["body"],
                        "msg": f"Malformed JSON body: {exc.__cause__}",
                    }
                ]
            },
            status=422,
        )
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


# --- Schemas -----------------------------------------------------------------

Identifier = StrictStr | StrictInt


class Error(Schema):
    detail: str


class ValidationErrorItem(Schema):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrors(Schema):
    detail: list[ValidationErrorItem]


class ProposeIn(Schema):
    space: Annotated[StrictStr, Field(min_length=1, max_length=50)] = Field(
        description="Code of a live offer space in real-time mode."
    )
    contact: Identifier | None = Field(
        None,
        description="The contact's id (the space's identification fields, "
        "joined with “|” when several).",
    )
    visitor: Identifier | None = Field(None, description="The anonymous visitor's id.")
    count: Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)] = Field(
        1, description="How many offers at most (the space's maximum applies too)."
    )
    category: Annotated[StrictStr, Field(max_length=50)] | None = Field(
        None, description="Only offers of this category (and its subcategories)."
    )
    themes: list[Annotated[StrictStr, Field(max_length=100)]] = Field(
        default_factory=list, max_length=50, description="Offers of any of these."
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="Call context, read by conditions and formulas as context.NAME.",
    )
    date: datetime.datetime | None = Field(
        None, description="Contact date (ISO 8601); default now. Naive = UTC."
    )
    store: StrictBool | None = Field(
        None, description="Store the propositions; default: the space's setting."
    )
    seed: StrictInt | None = Field(
        None, description="Makes the order of equal weights reproducible."
    )


class OfferOut(Schema):
    code: str
    label: str
    category: str


class PropositionOut(Schema):
    id: int | None = Field(description="Null when the propositions are not stored.")
    rank: int
    weight: float
    offer: OfferOut
    content: dict[str, Any]
    html: str
    text: str
    token: str | None = Field(
        None, description="Give it back to update this proposition's status."
    )
    tracked_url: str | None = Field(
        None,
        description="Link to the offer's destination that records acceptance.",
    )


class ProposeOut(Schema):
    interaction: uuid.UUID
    identified: bool
    space: str
    propositions: list[PropositionOut]
    reason: str | None = Field(None, description="Why there are no offers.")


class StatusIn(Schema):
    status: PropositionStatus = Field(
        description="“accepted” records the space's status on acceptance."
    )
    token: StrictStr | None = Field(
        None, description="The proposition's token from the propose response."
    )


class StatusOut(Schema):
    id: int
    status: str
    offer: str
    space: str | None
    rank: int
    weight: float
    interaction: uuid.UUID


# --- Endpoints ---------------------------------------------------------------


@api.post(
    "/propose",
    response={200: ProposeOut, 404: Error, 409: Error, 422: ValidationErrors},
    summary="Propose offers",
    url_name="propose",
)
def propose(request, payload: ProposeIn):
    """The best offers of a space for one contact or visitor, rendered."""
    try:
        result = _propose(request, payload)
    except EngineError as error:
        return Status(ENGINE_ERROR_STATUS[type(error)], {"detail": str(error)})
    # Built to match ProposeOut (the tests check it); skipping ninja's output
    # validation saves a tenth of a millisecond on the busiest endpoint.
    return api.create_response(request, result, status=200)


class ProposeBatchIn(Schema):
    calls: list[ProposeIn] = Field(min_length=1, max_length=MAX_BATCH)


class ProposeBatchItem(Schema):
    status: int = Field(description="What /propose would have answered: 200, 404, 409.")
    result: ProposeOut | None = None
    detail: str | None = None


class ProposeBatchOut(Schema):
    results: list[ProposeBatchItem]


@api.post(
    "/propose/batch",
    response={200: ProposeBatchOut, 422: ValidationErrors},
    summary="Propose offers for several spaces at once",
    url_name="propose_batch",
)
def propose_batch(request, payload: ProposeBatchIn):
    """Every space of a page in one request; each call is answered in order, and
    one unknown or batch-only space does not fail the others."""
    results = []
    for call in payload.calls:
        try:
            results.append({"status": 200, "result": _propose(request, call)})
        except EngineError as error:
            status = ENGINE_ERROR_STATUS[type(error)]
            results.append({"status": status, "detail": str(error)})
    return {"results": results}


def _propose(request, payload: ProposeIn) -> dict:
    date = payload.date
    if date is not None and timezone.is_naive(date):
        date = timezone.make_aware(date, datetime.UTC)
    call = Call(
        space=payload.space,
        contact_id=None if payload.contact is None else str(payload.contact),
        visitor_id=None if payload.visitor is None else str(payload.visitor),
        count=payload.count,
        category=payload.category or None,
        themes=tuple(payload.themes),
        context=payload.context,
        date=date,
        seed=payload.seed,
        explain=False,
    )
    result = services.propose(call, store=payload.store)
    return {
        "interaction": result.interaction_id,
        "identified": result.identified,
        "space": result.space_code,
        "propositions": [_proposition(request, p) for p in result.propositions],
        "reason": result.reason or None,
    }


def _proposition(request, rendered: services.RenderedProposition) -> dict:
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
        "token": None,
        "tracked_url": None,
    }
    if rendered.id is not None:
        data["token"] = proposition_token(rendered.id)
        if is_trackable(offer.destination_url):
            data["tracked_url"] = request.build_absolute_uri(
                tracked_url(rendered.id, offer.destination_url)
            )
    return data


@api.post(
    "/propositions/{id}/status",
    response={200: StatusOut, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Update a proposition's status",
    url_name="proposition_status",
)
def update_status(request, id: int, payload: StatusIn):
    """Set the status now; the same status again changes nothing."""
    proposition = _get_proposition(id)
    if proposition is None:
        return Status(404, {"detail": f"No proposition {id}."})
    if not token_matches(payload.token, proposition.pk):
        return Status(403, {"detail": "Missing or invalid token for this proposition."})
    status = payload.status
    if status == PropositionStatus.ACCEPTED:
        status = _accepted_status(proposition)
    services.update_status(proposition, str(status))
    return Status(200, _status_out(proposition))


@api.get(
    "/t/{signed}",
    response={302: None, 404: Error},
    summary="Follow a tracked link",
    url_name="track",
)
def track(request, signed: str):
    """Record the proposition's acceptance, then redirect to the offer."""
    try:
        proposition_id, url = unsign_link(signed)
    except signing.BadSignature:
        return Status(404, {"detail": "Unknown or tampered link."})
    proposition = _get_proposition(proposition_id)
    if proposition is not None:
        services.update_status(proposition, _accepted_status(proposition))
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
