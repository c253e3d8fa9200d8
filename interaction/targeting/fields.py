"""A dimension model's fields as the condition specs the engine validates against."""

from __future__ import annotations

from typing import cast

from django.apps import apps
from django.db import models

from .. import conf
from ..engine.conditions import BOOL, DATE, DATETIME, NUMBER, TEXT, FieldSpec

_TEXT_FIELDS = (
    models.CharField,
    models.TextField,
    models.UUIDField,
    models.GenericIPAddressField,
)
_NUMBER_FIELDS = (
    models.IntegerField,
    models.FloatField,
    models.DecimalField,
    models.AutoField,
    models.BigAutoField,
)


def _field_kind(model_field: models.Field) -> str | None:
    if isinstance(model_field, models.BooleanField):
        return BOOL
    if isinstance(model_field, models.DateTimeField):
        return DATETIME
    if isinstance(model_field, models.DateField):
        return DATE
    if isinstance(model_field, _NUMBER_FIELDS):
        return NUMBER
    if isinstance(model_field, _TEXT_FIELDS):
        return TEXT
    return None


def _spec(name: str, model_field: models.Field) -> FieldSpec | None:
    kind = _field_kind(model_field)
    if kind is None:
        return None
    choices = tuple(value for value, _label in model_field.flatchoices)
    return FieldSpec(name, kind, choices)


def model_fields(model: type[models.Model]) -> dict[str, FieldSpec]:
    """The comparable fields of ``model``, with related fields one level deep."""
    specs: dict[str, FieldSpec] = {}
    for model_field in model._meta.concrete_fields:
        if model_field.is_relation:
            # A concrete relation of a loaded model: a model class, not "self".
            related = cast(type[models.Model], model_field.related_model)
            for related_field in related._meta.concrete_fields:
                if related_field.is_relation:
                    continue
                spec = _spec(f"{model_field.name}__{related_field.name}", related_field)
                if spec:
                    specs[spec.name] = spec
            continue
        spec = _spec(model_field.name, model_field)
        if spec:
            specs[spec.name] = spec
    if model._meta.pk and "pk" not in specs:
        pk_spec = _spec("pk", model._meta.pk)
        if pk_spec:
            specs["pk"] = pk_spec
    return specs


_EXCLUDED_APPS = {
    "admin",
    "contenttypes",
    "sessions",
    "interaction",
    "taggit",
    "rules",
}


def dimension_choices():
    """Installed models that can identify contacts (``INTERACTION_DIMENSIONS``)."""
    labels = conf.dimensions()
    if labels is None:
        labels = [
            model._meta.label_lower
            for model in apps.get_models()
            if model._meta.app_label not in _EXCLUDED_APPS
            and not model._meta.app_label.startswith("wagtail")
            and not (
                model._meta.app_label == "auth" and model._meta.model_name != "user"
            )
        ]
    choices = []
    for label in sorted(labels):
        model = apps.get_model(label)
        choices.append(
            (
                model._meta.label_lower,
                f"{model._meta.verbose_name.capitalize()} ({label})",
            )
        )
    return choices
