"""An offer's weight for one contact, as edited: the preview's weight check.

The offer is the one the preview builds from the edit form (unsaved weight
rows and spaces included). Its terms are compiled by the catalogue's own
:func:`.snapshot._compile_offer` and evaluated by the engine, so the final
weight and the reason an offer is not eligible are the ones a call would
get; each weight row is evaluated alone by the same compiled code (its
condition, its dates, its formula) to show what it gives. Typology rules and
the space's arbitration are not applied: the space preview shows a whole call.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..engine.conditions import CONTEXT_PREFIX, condition_names
from ..engine.core import call_values
from ..engine.errors import InvalidDefinition
from ..engine.evaluation import OfferTerms, TargetFilter, WeightRow, Window
from ..engine.formulas import names, parse
from ..models import Environment, Offer, OfferSpace, OfferWeight
from .readers import DatabaseDirectory
from .serving import _Catalogue

#: Session key: environment id -> the primary key of the contact chosen for
#: the weight check of that environment's offers.
SESSION_KEY = "interaction_preview_contacts"


@dataclass
class RowResult:
    row: OfferWeight
    #: Why the row does not apply to this contact now ("" if it does).
    skipped: str = ""
    #: What the formula gives (``None``: not computed); or why it cannot count.
    value: float | None = None
    problem: str = ""
    #: Its formula or condition reads the call's context, empty here.
    reads_context: bool = False


@dataclass
class SpaceResult:
    space: OfferSpace
    weight: float | None = None
    #: Why the offer is not eligible in this space for this contact.
    reason: str = ""


@dataclass
class WeightCheck:
    environment: Environment
    #: The chosen contact (a dimension row), ``None`` for an anonymous
    #: environment or when none is chosen or found.
    contact: Any = None
    #: A contact was chosen but no longer exists (or is not of the dimension).
    contact_missing: bool = False
    rows: list[RowResult] = field(default_factory=list)
    spaces: list[SpaceResult] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.environment.is_anonymous or self.contact is not None


def chosen_contact(request, environment: Environment) -> str | None:
    """The primary key chosen in this session for ``environment``'s previews."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    return session.get(SESSION_KEY, {}).get(str(environment.pk))


def _evaluate(terms: OfferTerms, values, now: datetime.datetime, space_id: int):
    try:
        return terms.evaluate(values, now.date(), now, space_id)
    except InvalidDefinition as error:
        return str(error)


def _row_result(
    row: OfferWeight,
    kinds: Mapping[str, str],
    values: Mapping[str, Any],
    now: datetime.datetime,
) -> RowResult:
    """What ``row`` alone gives: each of its terms compiled as the engine does."""
    readable = frozenset(kinds)
    result = RowResult(row)
    try:
        read = names(parse(row.value)) | condition_names(row.target_filter or {})
    except InvalidDefinition:
        read = set()
    result.reads_context = any(name.startswith(CONTEXT_PREFIX) for name in read)
    window = Window(row.start_date, row.end_date)
    if window != Window():
        outside = _evaluate(OfferTerms(window=window), values, now, 0)
        if isinstance(outside, str):
            result.skipped = _("outside its dates")
    if not result.skipped and row.target_filter:
        terms = OfferTerms(
            filters=(TargetFilter(_("the row"), row.target_filter),),
            kinds=kinds,
            readable=readable,
        )
        if isinstance(_evaluate(terms, values, now, 0), str):
            result.skipped = _("the contact does not match its condition")
    value = _evaluate(
        OfferTerms(weight_rows=(WeightRow(row.value),), kinds=kinds, readable=readable),
        values,
        now,
        0,
    )
    if isinstance(value, str):
        result.problem = value
    else:
        result.value = value
    return result


def weight_check(
    offer: Offer,
    spaces: list[OfferSpace],
    contact_pk: str | None,
    now: datetime.datetime | None = None,
) -> WeightCheck | None:
    """The weight ``offer`` (as edited) gives the contact ``contact_pk`` of
    its environment's dimension in each of ``spaces``, row by row; ``None``
    for an offer without category yet."""
    if not offer.category_id:
        return None
    now = now or timezone.now()
    catalogue = _Catalogue([offer.category.environment_id])
    environment = catalogue.environments[offer.category.environment_id]
    check = WeightCheck(environment)
    kinds = catalogue.kinds[environment.pk]
    values: dict[str, Any] = {}
    if not environment.is_anonymous:
        model = environment.dimension_model
        found = None
        if contact_pk and model is not None and kinds:
            directory = DatabaseDirectory({environment.pk: (model, tuple(kinds))})
            found = directory.find(environment.pk, ("pk",), (contact_pk,), None)
        if found is None:
            check.contact_missing = bool(contact_pk)
            return check
        check.contact = model._default_manager.filter(pk=found.key).first()
        values = call_values(found.attributes, {})
    # The offer as the form holds it: its environment, spaces and rows unsaved.
    offer.environment_id = environment.pk
    rows = list(offer.weights.all())
    compiled = catalogue.compile(
        offer, frozenset(space.pk for space in offer.spaces.all()), rows
    )
    check.rows = [_row_result(row, kinds, values, now) for row in rows]
    for space in spaces:
        weight = _evaluate(compiled.terms, values, now, space.pk)
        if isinstance(weight, str):
            check.spaces.append(SpaceResult(space, reason=weight))
        elif weight <= 0:
            check.spaces.append(
                SpaceResult(
                    space,
                    weight,
                    _("weight %(weight)s ≤ 0") % {"weight": f"{weight:.2f}"},
                )
            )
        else:
            check.spaces.append(SpaceResult(space, weight))
    return check
