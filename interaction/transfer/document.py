"""Objects to document entries: the export, and what an import compares.

:func:`export` builds an environment's document: the live version of each
category, space and offer (or with ``drafts=True`` the latest one), the
environment and its typology rules, keyed by codes. The ``*_entry`` functions
turn one object (a row or a revision's object) into its entry; the import
compares an object's entry before and after applying the document to decide
"unchanged".
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from pydantic import BaseModel
from wagtail.images import get_image_model

from ..models import Environment, Offer, OfferCategory, OfferSpace, TypologyRule
from .schema import (
    FORMAT,
    VERSION,
    CategoryEntry,
    ContentFieldEntry,
    Document,
    EnvironmentEntry,
    OfferEntry,
    RuleEntry,
    SpaceEntry,
    WeightEntry,
)

#: Per entry class, the keys that are not the model field of the same name
#: (references by code, child rows, renamed fields).
SPECIAL: dict[type[BaseModel], set[str]] = {
    EnvironmentEntry: set(),
    RuleEntry: set(),
    SpaceEntry: {"fallback_space", "default_category", "content_fields"},
    CategoryEntry: {"parent"},
    OfferEntry: {"category", "spaces", "image", "weights"},
    WeightEntry: {"formula", "space"},
}


def plain_fields(entry_class: type[BaseModel]) -> list[str]:
    """The entry's keys that are model fields of the same name."""
    return [
        name for name in entry_class.model_fields if name not in SPECIAL[entry_class]
    ]


def _value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
        return value.astimezone(datetime.UTC)
    return value


def _plain(obj, entry_class: type[BaseModel]) -> dict[str, Any]:
    return {name: _value(getattr(obj, name)) for name in plain_fields(entry_class)}


def _code(obj) -> str | None:
    return obj.code if obj is not None else None


def image_name(image) -> str | None:
    """How a document names an image: its file's name, without folder."""
    if image is None:
        return None
    return os.path.basename(image.file.name)


def find_image(name: str):
    """The site's image whose file is named ``name`` (any folder), if any."""
    return (
        get_image_model()
        .objects.filter(Q(file=name) | Q(file__endswith=f"/{name}"))
        .order_by("pk")
        .first()
    )


def _in_order(rows) -> list:
    """Child rows in their order (rows saved without one last, by id)."""
    return sorted(
        rows, key=lambda row: (row.sort_order is None, row.sort_order or 0, row.pk or 0)
    )


def environment_entry(environment: Environment) -> EnvironmentEntry:
    return EnvironmentEntry(**_plain(environment, EnvironmentEntry))


def rule_entry(rule: TypologyRule) -> RuleEntry:
    return RuleEntry(**_plain(rule, RuleEntry))


def space_entry(space: OfferSpace) -> SpaceEntry:
    return SpaceEntry(
        **_plain(space, SpaceEntry),
        fallback_space=_code(space.fallback_space),
        default_category=_code(space.default_category),
        content_fields=[
            ContentFieldEntry(field=row.field, required=row.required)
            for row in _in_order(space.content_fields.all())
        ],
    )


def category_entry(category: OfferCategory) -> CategoryEntry:
    return CategoryEntry(
        **_plain(category, CategoryEntry), parent=_code(category.parent)
    )


def offer_entry(offer: Offer) -> OfferEntry:
    return OfferEntry(
        **_plain(offer, OfferEntry),
        category=offer.category.code,
        spaces=sorted(space.code for space in offer.spaces.all()),
        image=image_name(offer.image),
        weights=[
            WeightEntry(
                **_plain(row, WeightEntry),
                formula=row.value,
                space=_code(row.space),
            )
            for row in _in_order(offer.weights.all())
        ],
    )


@dataclass
class Export:
    document: Document
    #: What was left out or changed to keep the document whole (one line each).
    warnings: list[str] = field(default_factory=list)
    #: The images the offers name (for ``--with-media``).
    images: list[Any] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return self.document.model_dump(mode="json")


def _versions(queryset, drafts: bool) -> list:
    if drafts:
        return [obj.get_latest_revision_as_object() for obj in queryset]
    # A live object's row holds its published content (WAGTAIL_NOTES §1.3).
    return list(queryset.filter(live=True))


def export(environment: Environment, *, drafts: bool = False) -> Export:
    """``environment``'s catalogue as a document.

    Live versions by default: objects never published (or unpublished) are
    left out, and so is what depends on them (an offer of a category left
    out, a weight row restricted to a space left out); each with a warning.
    """
    result = Export(
        document=Document(
            format=FORMAT, version=VERSION, environment=environment_entry(environment)
        )
    )
    document = result.document
    document.typology_rules = [
        rule_entry(rule)
        for rule in TypologyRule.objects.filter(environment=environment).order_by(
            "code"
        )
    ]
    categories = _versions(
        OfferCategory.objects.filter(environment=environment).order_by(
            "tree_path", "code"
        ),
        drafts,
    )
    category_codes: set[str] = set()
    for category in categories:
        entry = category_entry(category)
        if entry.parent is not None and entry.parent not in category_codes:
            result.warnings.append(
                f"Category “{entry.code}” left out: its parent “{entry.parent}” "
                "is not exported."
            )
            continue
        category_codes.add(entry.code)
        document.categories.append(entry)

    spaces = _versions(
        OfferSpace.objects.filter(environment=environment).order_by("code"), drafts
    )
    space_codes = {space.code for space in spaces}
    # A fallback space is usually another (anonymous) environment's.
    others = OfferSpace.objects.exclude(environment=environment)
    if not drafts:
        others = others.filter(live=True)
    known_spaces = space_codes | set(others.values_list("code", flat=True))
    for space in spaces:
        item = space_entry(space)
        if item.default_category and item.default_category not in category_codes:
            result.warnings.append(
                f"Space “{item.code}”: its default category "
                f"“{item.default_category}” is not exported; left empty."
            )
            item.default_category = None
        if item.fallback_space and item.fallback_space not in known_spaces:
            result.warnings.append(
                f"Space “{item.code}”: its fallback space “{item.fallback_space}” "
                "is not exported or not live; left empty."
            )
            item.fallback_space = None
        document.spaces.append(item)

    offers = _versions(
        Offer.objects.filter(environment=environment)
        .select_related("category", "image")
        .order_by("code"),
        drafts,
    )
    for offer in offers:
        exported = offer_entry(offer)
        if exported.category not in category_codes:
            result.warnings.append(
                f"Offer “{exported.code}” left out: its category “{exported.category}” "
                "is not exported."
            )
            continue
        left_out = [code for code in exported.spaces if code not in space_codes]
        if left_out:
            result.warnings.append(
                f"Offer “{exported.code}”: not exported on {', '.join(left_out)} "
                "(not live)."
            )
            exported.spaces = [code for code in exported.spaces if code in space_codes]
        weights = [
            row
            for row in exported.weights
            if row.space is None or row.space in space_codes
        ]
        if len(weights) != len(exported.weights):
            result.warnings.append(
                f"Offer “{exported.code}”: weight rows of spaces not exported left out."
            )
            exported.weights = weights
        if offer.image is not None:
            result.images.append(offer.image)
        document.offers.append(exported)
    return result
