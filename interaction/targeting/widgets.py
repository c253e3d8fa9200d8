"""The condition builder: a form widget editing a condition tree without JSON.

The widget is the textarea Django renders for a JSON field, wrapped in a
Stimulus controller (``interaction/js/condition-builder.js``) that hides it
and edits the tree visually; the textarea stays the submitted value, so the
form takes exactly the JSON it always took and validates it on the server.
The controller asks :func:`builder_fields` (through
:mod:`interaction.views.condition_count`) which fields the environment's
dimension offers, and how many contacts a tree matches.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db import models
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ..engine.conditions import OPERATORS_BY_KIND, FieldSpec
from .describe import DATE_OPERATOR_WORDS, OPERATOR_WORDS

#: Form fields, in order, that tell the builder the environment when a
#: condition field does not name one: an environment's dimension, an
#: environment, a space, a category.
SOURCES = ("dimension", "environment", "space", "category")

FIELDS_URL_NAME = "interaction_condition_fields"
COUNT_URL_NAME = "interaction_condition_count"


class ConditionBuilder(forms.Textarea):
    template_name = "interaction/widgets/condition_builder.html"

    def __init__(
        self,
        *,
        source: str = "",
        context: bool = True,
        offer: bool = False,
        attrs: dict[str, Any] | None = None,
    ):
        super().__init__(
            attrs={"rows": 6, "data-condition-builder-target": "input", **(attrs or {})}
        )
        self.source = source
        self.context = context
        self.offer = offer

    class Media:
        js = ["interaction/js/condition-builder.js"]
        css = {"all": ["interaction/css/condition-builder.css"]}

    def format_value(self, value: Any) -> str | None:
        # A field without a condition is empty, not the JSON "null".
        if value in (None, "", "null"):
            return None
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["builder"] = {
            "sources": [self.source] if self.source else list(SOURCES),
            "context": self.context,
            "offer": self.offer,
            "operators_json": json.dumps(operators_by_kind()),
            # What the builder calls each operator: the reviews' words.
            "words_json": json.dumps(
                {"operators": OPERATOR_WORDS, "dates": DATE_OPERATOR_WORDS}
            ),
            "fields_url": reverse(FIELDS_URL_NAME),
            "count_url": reverse(COUNT_URL_NAME),
        }
        return context


def _model_field(model: type[models.Model], name: str) -> models.Field | None:
    """The model field a targetable name reads (``pk``, ``company__name``)."""
    if name == "pk":
        return model._meta.pk
    field: Any = None
    for part in name.split("__"):
        try:
            field = model._meta.get_field(part)
        except LookupError:
            return None
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return field


def _label(model: type[models.Model], name: str) -> tuple[str, str]:
    """The label of a targetable name, and the group it is listed in (the
    dimension, or the related model one level down)."""
    dimension = capfirst(str(model._meta.verbose_name))
    primary_key = model._meta.pk
    if name == "pk":
        if primary_key is None or primary_key.is_relation:
            return _("Id"), dimension
        return capfirst(str(primary_key.verbose_name)), dimension
    parts = name.split("__")
    labels = []
    for index in range(len(parts)):
        field = _model_field(model, "__".join(parts[: index + 1]))
        verbose = getattr(field, "verbose_name", None) or parts[index]
        labels.append(capfirst(str(verbose)))
    if len(labels) == 1:
        return labels[0], dimension
    return " › ".join(labels), labels[0]


def _choices(model_field: models.Field | None) -> list[list[Any]]:
    if model_field is None:
        return []
    return [[value, str(label)] for value, label in model_field.flatchoices]


def builder_fields(
    model: type[models.Model] | None,
    specs: dict[str, FieldSpec],
    offer_specs: dict[str, FieldSpec] | None,
) -> list[dict[str, Any]]:
    """What the builder's field picker lists: name, label, group, kind and
    choices of each targetable field, then of each offer field.

    The primary key is offered once, as ``pk`` (what identification fields
    default to, kept whatever ``INTERACTION_DIMENSIONS`` lists); its own
    name (``id``), which conditions may hold too, is described with
    ``"alias": True``: the builder draws such a condition by its label but
    does not offer the name again (the picker listed "ID" and "Id")."""
    alias = model._meta.pk.name if model and model._meta.pk and "pk" in specs else None
    described = []
    for name, spec in specs.items():
        assert model is not None  # a dimension's fields come with its model
        label, group = _label(model, name)
        field: dict[str, Any] = {
            "name": name,
            "label": label,
            "group": group,
            "kind": spec.kind,
            "choices": _choices(_model_field(model, name)),
        }
        if name == alias:
            field["alias"] = True
        described.append(field)
    for name, spec in (offer_specs or {}).items():
        described.append(
            {
                "name": f"offer.{name}",
                "label": _("Offer %(field)s") % {"field": name.replace("_", " ")},
                "group": _("Offer"),
                "kind": spec.kind,
                "choices": [[choice, str(choice)] for choice in spec.choices],
            }
        )
    return described


def operators_by_kind() -> dict[str, list[str]]:
    return {kind: list(operators) for kind, operators in OPERATORS_BY_KIND.items()}
