"""The condition builder's admin JSON endpoints (:mod:`interaction.targeting.widgets`).

Both take the form's source of the environment in the query string, as the
builder reads it from the form being edited: ``environment``, ``category`` or
``space`` (an id), or ``dimension`` (a model label, in an environment's own
form); and ``context=1``, ``offer=1`` when the condition may compare call
context or offer names.

- ``GET fields/``: the fields the condition may compare, their labels, kinds
  and choices, and the operators of each kind.
- ``POST count/`` with the condition as the JSON body: how many of the
  dimension's contacts match it, validated as the model validates it on save
  (bounded as the form field bounds it). Context and offer comparisons are
  only known during a call: such a condition is not counted.

Answers are JSON: 400 a condition that is not valid (the message the form
would show), 403 a user who may not work on conditions, 404 a source outside
the user's environments (as if it did not exist).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views import View

from ..engine.conditions import (
    CONTEXT_PREFIX,
    OFFER_PREFIX,
    ConditionSchema,
    condition_names,
    validate_condition,
)
from ..engine.errors import InvalidDefinition
from ..models import Environment, Offer, OfferCategory, OfferSpace
from ..models.typology import OFFER_CONDITION_FIELDS
from ..targeting.fields import is_dimension
from ..targeting.forms import MAX_CONDITION_LENGTH, ConditionFormField
from ..targeting.sql import condition_q
from ..targeting.widgets import builder_fields, operators_by_kind

#: Query parameter -> what it names; the first one present is used.
_SOURCES: dict[str, Any] = {
    "environment": Environment,
    "category": OfferCategory,
    "space": OfferSpace,
}
#: Who may pick a dimension for an environment: its form's users.
_DIMENSION_PERMISSIONS = (
    "interaction.add_environment",
    "interaction.change_environment",
)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name) in ("1", "true")


def _environment(request: HttpRequest) -> Environment:
    """The environment the query string names, as the user may see it; an
    unsaved one for ``dimension``."""
    user = request.user
    if "dimension" in request.GET:
        if not any(user.has_perm(name) for name in _DIMENSION_PERMISSIONS):
            raise Refused(403, _("You may not choose targeting dimensions."))
        label = request.GET["dimension"]
        environment = Environment(dimension=label)
        if label and not is_dimension(environment.dimension_model):
            raise Refused(404, _("This model is not a targeting dimension."))
        return environment
    for parameter, model in _SOURCES.items():
        if parameter not in request.GET:
            continue
        try:
            pk = int(request.GET[parameter])
        except ValueError:
            raise Refused(404, _("Not found.")) from None
        row: Any = model.objects.for_user(user).filter(pk=pk).first()
        if row is None:
            raise Refused(404, _("Not found."))
        environment = row if isinstance(row, Environment) else row.environment
        if not user.has_perm("interaction.view_environment", environment):
            raise Refused(403, _("You may not work in this environment."))
        return environment
    raise Refused(400, _("Name the environment, category, space or dimension."))


def _schema(request: HttpRequest, environment: Environment) -> ConditionSchema:
    return environment.condition_schema(
        allow_context=_flag(request, "context"),
        offer_fields=OFFER_CONDITION_FIELDS if _flag(request, "offer") else None,
    )


#: The most values an offer field's suggestions list.
MAX_SUGGESTIONS = 200


def _offer_suggestions(environment: Environment) -> dict[str, list[str]]:
    """Values the environment's catalogue has for the offer fields rules
    compare most: category codes and paths, offer codes (drafts included)."""
    categories = OfferCategory.objects.filter(environment=environment)
    offers = Offer.objects.filter(environment=environment).order_by("code")
    return {
        "offer.category": list(
            categories.order_by("code").values_list("code", flat=True)[:MAX_SUGGESTIONS]
        ),
        "offer.category_path": list(
            categories.values_list("tree_path", flat=True)[:MAX_SUGGESTIONS]
        ),
        "offer.code": list(offers.values_list("code", flat=True)[:MAX_SUGGESTIONS]),
    }


class ConditionFieldsView(View):
    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> JsonResponse:
        try:
            environment = _environment(request)
        except Refused as refused:
            return JsonResponse({"error": str(refused)}, status=refused.status)
        schema = _schema(request, environment)
        model = environment.dimension_model
        described = builder_fields(model, schema.contact_fields, schema.offer_fields)
        if schema.offer_fields is not None and environment.pk:
            suggestions = _offer_suggestions(environment)
            for field in described:
                field["suggestions"] = suggestions.get(field["name"], [])
        return JsonResponse(
            {
                "fields": described,
                "context": schema.allow_context,
                "operators": operators_by_kind(),
                "countable": model is not None,
                "noun": str(model._meta.verbose_name_plural) if model else "",
                "dimension": capfirst(str(schema.dimension_label)),
            }
        )


class ConditionCountView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> JsonResponse:
        try:
            environment = _environment(request)
            schema = _schema(request, environment)
            tree = self._condition(request, schema)
        except Refused as refused:
            return JsonResponse({"error": str(refused)}, status=refused.status)
        model = environment.dimension_model
        if model is None:
            return JsonResponse(
                {"count": None, "detail": _("Visitors are not counted.")}
            )
        if any(
            name.startswith((CONTEXT_PREFIX, OFFER_PREFIX))
            for name in condition_names(tree)
        ):
            return JsonResponse(
                {
                    "count": None,
                    "detail": _(
                        "Not counted: the condition depends on the call or the offer."
                    ),
                }
            )
        kinds = {name: spec.kind for name, spec in schema.contact_fields.items()}
        contacts = model._default_manager.all()
        try:
            count = contacts.filter(
                condition_q(tree, kinds, timezone.now().date())
            ).count()
        except (OverflowError, DataError):
            return JsonResponse(
                {"error": _("A value of the condition is out of range.")}, status=400
            )
        return JsonResponse({"count": count, "total": contacts.count()})

    def _condition(self, request: HttpRequest, schema: ConditionSchema) -> Any:
        if len(request.body) > 4 * MAX_CONDITION_LENGTH:
            raise Refused(
                400,
                _("A condition is at most %(max)d characters of JSON.")
                % {"max": MAX_CONDITION_LENGTH},
            )
        try:
            text = request.body.decode()
            tree = ConditionFormField(required=False).clean(text)
            validate_condition(tree, schema)
        except UnicodeDecodeError:
            raise Refused(400, _("The condition is not UTF-8 text.")) from None
        except ValidationError as error:
            raise Refused(400, " ".join(error.messages)) from None
        except InvalidDefinition as error:
            raise Refused(400, str(error)) from None
        return tree
