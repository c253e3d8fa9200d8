"""What the API reads and answers, as pydantic schemas (they make the OpenAPI)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import StrictBool, StrictInt, StrictStr

from ..engine.call import MAX_COUNT
from ..models.choices import PropositionStatus

#: The most calls one ``propose/batch`` request may carry.
MAX_BATCH = 20

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


class ProposeBatchIn(Schema):
    calls: list[ProposeIn] = Field(min_length=1, max_length=MAX_BATCH)


class ProposeBatchItem(Schema):
    status: int = Field(description="What /propose would have answered: 200, 404, 409.")
    result: ProposeOut | None = None
    detail: str | None = None


class ProposeBatchOut(Schema):
    results: list[ProposeBatchItem]
