"""The catalogue document's format: pydantic models, name and version.

One source of truth: the import validates with these models, and
``schema.json`` (shipped next to this module, for other tools) is generated
from them (``manage.py interaction_export --schema > schema.json``; a test
checks the file is up to date). Defaults are the models' own. Field-level
rules the models already check (choices, URLs, conditions, formulas,
templates) are left to them, so that there is one implementation of each.

Version history: 1, the first. A document of a later version is refused
("upgrade the plugin"); :data:`UPGRADES` turns an older version's data into the
next one's when a version 2 exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from django.db import models
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    SpaceContentField,
    TypologyRule,
)
from ..models.choices import (
    Channel,
    ContentField,
    CountedOffers,
    CountedStatuses,
    PropositionStatus,
)

#: The ``format`` every document names.
FORMAT = "wagtail-interaction-catalogue"
#: The version this code writes and reads.
VERSION = 1
#: Versions this code reads: version -> function turning that version's data
#: into the next version's (none yet).
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
#: The shipped JSON Schema.
SCHEMA_FILE = Path(__file__).with_name("schema.json")
#: The biggest document read (bytes), from a file or an upload.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: Bounds of the texts the models leave unbounded (descriptions, templates,
#: content): an import never stores a bigger text than the admin would take.
MAX_TEXT = 100_000
#: Most entries of one kind in a document.
MAX_ENTRIES = 100_000


def _default(model: type[models.Model], name: str) -> Any:
    model_field: Any = model._meta.get_field(name)
    value = model_field.get_default()
    return str(value) if isinstance(value, str) else value


def _max(model: type[models.Model], name: str) -> int:
    length = getattr(model._meta.get_field(name), "max_length", None)
    return int(length or MAX_TEXT)


def _choices(choices: type[models.TextChoices], *, blank: bool = False) -> Any:
    values: list[Any] = [str(value) for value in choices.values]
    extra: dict[str, Any] = {"enum": [*values, ""] if blank else values}
    return Field(json_schema_extra=extra)


Code = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")]
Label = Annotated[str, Field(min_length=1, max_length=255)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Date = AwareDatetime | None
#: A condition tree (README, "Conditions"), checked by the models' validator.
Condition = dict[str, Any] | None
#: An image's file name (no folder): matched on the importing site.
ImageName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/\\]+$")]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EnvironmentEntry(Entry):
    code: Code
    label: Label
    description: Text = ""
    dimension: Annotated[str, Field(max_length=_max(Environment, "dimension"))] = Field(
        default="",
        description='"app_label.model" of the contacts; "" for anonymous visitors.',
    )
    target_filter: Condition = None


class RuleEntry(Entry):
    code: Code
    label: Label
    active: bool = _default(TypologyRule, "active")
    channel: Annotated[str, _choices(Channel, blank=True)] = ""
    offer_condition: Condition = None
    contact_condition: Condition = None
    period_days: Annotated[int, Field(ge=0, le=2**31 - 1)] = _default(
        TypologyRule, "period_days"
    )
    period_hours: Annotated[int, Field(ge=0, le=2**31 - 1)] = _default(
        TypologyRule, "period_hours"
    )
    quantity: Annotated[int, Field(ge=0, le=2**31 - 1)] = _default(
        TypologyRule, "quantity"
    )
    same_channel_only: bool = _default(TypologyRule, "same_channel_only")
    counted_offers: Annotated[str, _choices(CountedOffers)] = _default(
        TypologyRule, "counted_offers"
    )
    counted_statuses: Annotated[str, _choices(CountedStatuses)] = _default(
        TypologyRule, "counted_statuses"
    )
    global_capping: bool = _default(TypologyRule, "global_capping")


class ContentFieldEntry(Entry):
    field: Annotated[str, _choices(ContentField)]
    required: bool = _default(SpaceContentField, "required")


class SpaceEntry(Entry):
    code: Code
    label: Label
    description: Text = ""
    channel: Annotated[str, _choices(Channel)] = _default(OfferSpace, "channel")
    real_time: bool = _default(OfferSpace, "real_time")
    html_template: Text = ""
    text_template: Text = ""
    max_offers: Annotated[int, Field(ge=0, le=32767)] = _default(
        OfferSpace, "max_offers"
    )
    identification_fields: Annotated[
        str, Field(max_length=_max(OfferSpace, "identification_fields"))
    ] = _default(OfferSpace, "identification_fields")
    fallback_space: Code | None = Field(
        default=None,
        description="Code of an anonymous environment's space, in this document "
        "or on the importing site.",
    )
    store_propositions: bool = _default(OfferSpace, "store_propositions")
    initial_status: Annotated[str, _choices(PropositionStatus)] = _default(
        OfferSpace, "initial_status"
    )
    accepted_status: Annotated[str, _choices(PropositionStatus)] = _default(
        OfferSpace, "accepted_status"
    )
    default_category: Code | None = None
    default_themes: Annotated[
        str, Field(max_length=_max(OfferSpace, "default_themes"))
    ] = ""
    content_fields: Annotated[list[ContentFieldEntry], Field(max_length=20)] = []


class CategoryEntry(Entry):
    code: Code
    parent: Code | None = None
    label: Label
    enabled: bool = _default(OfferCategory, "enabled")
    start_date: Date = None
    end_date: Date = None
    themes: Annotated[str, Field(max_length=_max(OfferCategory, "themes"))] = ""
    weight_multiplier: float = _default(OfferCategory, "weight_multiplier")
    multiplier_start: Date = None
    multiplier_end: Date = None
    target_filter: Condition = None
    always_include: bool = _default(OfferCategory, "always_include")


class WeightEntry(Entry):
    label: Annotated[str, Field(max_length=_max(OfferWeight, "label"))] = ""
    formula: Annotated[
        str, Field(min_length=1, max_length=_max(OfferWeight, "value"))
    ] = Field(
        default=_default(OfferWeight, "value"),
        description="A number or a formula over contact fields and call context.",
    )
    start_date: Date = None
    end_date: Date = None
    space: Code | None = None
    target_filter: Condition = None


class OfferEntry(Entry):
    code: Code
    category: Code
    label: Label
    description: Text = ""
    start_date: Date = None
    end_date: Date = None
    target_filter: Condition = None
    spaces: Annotated[list[Code], Field(max_length=1000)] = []
    title: Annotated[str, Field(max_length=_max(Offer, "title"))] = ""
    destination_url: Annotated[
        str, Field(max_length=_max(Offer, "destination_url"))
    ] = ""
    image: ImageName | None = None
    html_content: Text = ""
    text_content: Text = ""
    weights: Annotated[list[WeightEntry], Field(max_length=1000)] = []


class Document(Entry):
    """An environment's catalogue, keyed by codes (never database ids)."""

    format: Annotated[str, Field(json_schema_extra={"const": FORMAT})]
    version: Annotated[int, Field(json_schema_extra={"const": VERSION})]
    environment: EnvironmentEntry
    typology_rules: Annotated[list[RuleEntry], Field(max_length=MAX_ENTRIES)] = []
    spaces: Annotated[list[SpaceEntry], Field(max_length=MAX_ENTRIES)] = []
    categories: Annotated[list[CategoryEntry], Field(max_length=MAX_ENTRIES)] = []
    offers: Annotated[list[OfferEntry], Field(max_length=MAX_ENTRIES)] = []


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Document` (what ``schema.json`` holds)."""
    schema = Document.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://wagtail-interaction.example/schemas/{FORMAT}-{VERSION}.json",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
