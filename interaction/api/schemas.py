"""What the API reads and answers, as pydantic schemas (they make the OpenAPI)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from ..engine.call import MAX_COUNT
from ..models.choices import PropositionStatus

#: The most calls one ``propose/batch`` request may carry.
MAX_BATCH = 20
#: The most offer codes a ``propose/batch`` request may say its page shows.
MAX_SHOWN = 200

#: Contact dates a call may give: from 2000 to 2100 (UTC).
MIN_DATE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
MAX_DATE = datetime.datetime(2101, 1, 1, tzinfo=datetime.UTC)
#: The largest UTC offset in use on Earth.
MAX_UTC_OFFSET = datetime.timedelta(hours=14)

#: A 64-bit signed integer, what the database stores.
Int64 = Annotated[StrictInt, Field(ge=-(2**63) + 1, le=2**63 - 1)]
#: A contact's id: the identification fields' values (no NUL: PostgreSQL
#: refuses it in text), or an integer primary key.
ContactId = Annotated[StrictStr, Field(max_length=255, pattern=r"^[^\x00]*$")] | Int64
#: An anonymous visitor's id: what the JS client and the visitor cookie send
#: (``uuid4().hex``) fits; so does any opaque id of up to 64 such characters.
VisitorId = (
    Annotated[StrictStr, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] | Int64
)


def _bounded_date(value: datetime.datetime) -> datetime.datetime:
    """``value`` in UTC (naive = UTC), refused outside the documented range."""
    offset = value.utcoffset()
    if offset is None:
        value = value.replace(tzinfo=datetime.UTC)
    elif abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("the UTC offset must be within -14:00 and +14:00")
    if not MIN_DATE <= value < MAX_DATE:
        raise ValueError("the date must be in the years 2000 to 2100")
    return value.astimezone(datetime.UTC)


ContactDate = Annotated[datetime.datetime, AfterValidator(_bounded_date)]


class Input(BaseModel):
    """A request body: a plain pydantic model. ninja's ``Schema`` is made to
    read ORM objects, through a wrap validator that costs ten times the rest
    of a body's validation (``ProposeIn``: 44 µs a body with it, 4 without)
    and, given a JSON array where an object is expected, answers with a
    Python error message."""


class Error(Schema):
    detail: str


class ValidationErrorItem(Schema):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrors(Schema):
    detail: list[ValidationErrorItem]


class ProposeIn(Input):
    space: Annotated[StrictStr, Field(min_length=1, max_length=50)] = Field(
        description="Code of a live offer space in real-time mode."
    )
    contact: ContactId | None = Field(
        None,
        description="The contact's id (the space's identification fields, "
        "joined with “|” when several).",
    )
    visitor: VisitorId | None = Field(
        None,
        description="The anonymous visitor's id: up to 64 letters, digits and "
        "“_.:-” (the JS client sends the visitor cookie's).",
    )
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
    date: ContactDate | None = Field(
        None,
        description="Contact date (ISO 8601), in the years 2000 to 2100, with a "
        "UTC offset within ±14:00 (naive = UTC); default now. Trusted callers "
        "only (an API key or a staff session): 403 otherwise.",
    )
    store: StrictBool | None = Field(
        None,
        description="Store the propositions; default: the space's setting. "
        "Trusted callers only (an API key or a staff session): 403 otherwise.",
    )
    seed: Int64 | None = Field(
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


class StatusIn(Input):
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


#: Offer codes, as a page knows them (``data-offer``).
OfferCode = Annotated[StrictStr, Field(min_length=1, max_length=50)]


class ProposeBatchIn(Input):
    calls: list[ProposeIn] = Field(min_length=1, max_length=MAX_BATCH)
    unique_offers: StrictBool = Field(
        False,
        description="One offer once per page: each call proposes none of the "
        "offers proposed by the calls before it (in the order given) nor of "
        "shown_offers; its places go to the next offers. Default false: each "
        "call on its own, as /propose.",
    )
    shown_offers: list[OfferCode] = Field(
        default_factory=list,
        max_length=MAX_SHOWN,
        description="Codes of offers the page shows already (e.g. rendered on "
        "the server), not proposed again. With unique_offers only (422 without).",
    )

    @model_validator(mode="after")
    def _shown_offers_need_unique_offers(self) -> ProposeBatchIn:
        if self.shown_offers and not self.unique_offers:
            raise ValueError("shown_offers is only read with unique_offers true")
        return self


class ProposeBatchItem(Schema):
    status: int = Field(
        description="What /propose would have answered: 200, 403, 404, 409 "
        "(500 for a call that failed unexpectedly: the others are answered)."
    )
    result: ProposeOut | None = None
    detail: str | None = None


class ProposeBatchOut(Schema):
    results: list[ProposeBatchItem]
