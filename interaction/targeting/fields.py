"""Which models are targeting dimensions, and which of their fields can be read.

:func:`targetable_fields` is the one allow-list (SPEC §2, "Targetable
fields"): the condition schema built from it validates conditions and weight
formulas, space identification fields are checked against it, and the
compiled catalogue reads only its fields from the database, for conditions,
formulas and the rendering context alike.

- Credentials and privileges are never targetable: the fields named in
  :data:`DENIED_NAMES`, any field whose name contains one of
  :data:`DENIED_WORDS` (in any case), and related fields through or into them
  (``user__password``, ``api_key__label``). The primary key stays readable as
  ``pk`` unless its own name is denied.
- Relations are followed one level deep, and only into models that are not
  framework internals (``owner__email``, never ``session__session_data``).
- Wagtail pages and framework internals (:func:`is_internal`) are never
  dimensions; the user model is not an internal.
- ``INTERACTION_DIMENSIONS`` (:func:`interaction.conf.dimensions`) may name
  the dimension models and, per model, the fields that can be read; what it
  names beyond the rules above is dropped (and reported by system checks).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import cast

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string

from .. import conf
from ..engine.conditions import BOOL, DATE, DATETIME, NUMBER, TEXT, FieldSpec

#: Fields holding credentials or privileges: never targetable.
DENIED_NAMES = frozenset(
    {"password", "is_superuser", "is_staff", "user_permissions", "groups"}
)
#: A field whose name contains one of these, in any case, is never targetable.
DENIED_WORDS = ("password", "token", "secret", "hash", "key")

#: Top-level packages whose models are framework internals.
_INTERNAL_PACKAGES = frozenset(
    {
        "django",
        "wagtail",
        "modelsearch",
        "taggit",
        "modelcluster",
        "treebeard",
        "rules",
        "django_tasks",
        "interaction",
    }
)
#: Wagtail base classes whose subclasses, in any app, are framework internals.
_WAGTAIL_BASES = {
    "wagtail": ("wagtail.models.Page",),
    "wagtail.images": (
        "wagtail.images.models.AbstractImage",
        "wagtail.images.models.AbstractRendition",
    ),
    "wagtail.documents": ("wagtail.documents.models.AbstractDocument",),
}

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


def is_denied(name: str) -> bool:
    """Whether the field path ``name`` (``age``, ``user__password``) reads a
    credential or a privilege."""
    for part in name.lower().split("__"):
        if part in DENIED_NAMES or any(word in part for word in DENIED_WORDS):
            return True
    return False


@functools.cache
def _wagtail_bases() -> tuple[type, ...]:
    return tuple(
        import_string(path)
        for app, paths in _WAGTAIL_BASES.items()
        if apps.is_installed(app)
        for path in paths
    )


def is_internal(model: type[models.Model]) -> bool:
    """Whether ``model`` is a Wagtail page or a framework internal (Django's,
    Wagtail's, their dependencies', this plugin's): never a dimension, and
    relations into it are not followed. The user model is not one."""
    if model._meta.label_lower == settings.AUTH_USER_MODEL.lower():
        return False
    package = model._meta.app_config.name.split(".")[0]
    return package in _INTERNAL_PACKAGES or issubclass(model, _wagtail_bases())


def _listed_names(model: type[models.Model]) -> tuple[str, ...] | None:
    """The fields ``INTERACTION_DIMENSIONS`` names for ``model``, if it does."""
    for label, names in (conf.dimensions() or {}).items():
        if label.lower() == model._meta.label_lower:
            return names
    return None


def is_dimension(model: type[models.Model] | None) -> bool:
    """Whether ``model`` may be a targeting dimension: not internal, and listed
    in ``INTERACTION_DIMENSIONS`` when that is set."""
    if model is None or is_internal(model):
        return False
    configured = conf.dimensions()
    return configured is None or model._meta.label_lower in {
        label.lower() for label in configured
    }


def model_fields(model: type[models.Model]) -> dict[str, FieldSpec]:
    """The fields of ``model`` that can be targeted by default: comparable, not
    credentials or privileges, with related fields one level deep into models
    that are not internals (only the fields ``INTERACTION_DIMENSIONS`` names
    for the related model, when it names some)."""
    specs: dict[str, FieldSpec] = {}
    for model_field in model._meta.concrete_fields:
        if is_denied(model_field.name):
            continue
        if model_field.is_relation:
            # A concrete relation of a loaded model: a model class, not "self".
            related = cast(type[models.Model], model_field.related_model)
            if is_internal(related):
                continue
            listed = _listed_names(related)
            for related_field in related._meta.concrete_fields:
                if related_field.is_relation or is_denied(related_field.name):
                    continue
                if listed is not None and related_field.name not in listed:
                    continue
                spec = _spec(f"{model_field.name}__{related_field.name}", related_field)
                if spec:
                    specs[spec.name] = spec
            continue
        spec = _spec(model_field.name, model_field)
        if spec:
            specs[spec.name] = spec
    primary_key = model._meta.pk
    if primary_key and "pk" not in specs and not is_denied(primary_key.name):
        pk_spec = _spec("pk", primary_key)
        if pk_spec:
            specs["pk"] = pk_spec
    return specs


def targetable_fields(model: type[models.Model] | None) -> dict[str, FieldSpec]:
    """The fields of the dimension ``model`` that conditions, formulas,
    identification and rendering may read: ``{}`` when ``model`` cannot be a
    dimension; its default fields (:func:`model_fields`), restricted to the ones
    ``INTERACTION_DIMENSIONS`` names for it, if any (``pk`` always stays)."""
    if model is None or not is_dimension(model):
        return {}
    specs = model_fields(model)
    listed = _listed_names(model)
    if listed is not None:
        specs = {
            name: spec for name, spec in specs.items() if name in listed or name == "pk"
        }
    return specs


def untargetable_names(fields: Iterable[str], names: Iterable[str]) -> list[str]:
    """The contact field ``names`` (from conditions or formulas) that are not in
    ``fields``; call context and offer names aside."""
    allowed = set(fields)
    return sorted(
        {
            name
            for name in names
            if not name.startswith(("context.", "offer.")) and name not in allowed
        }
    )


def dimension_choices() -> list[tuple[str, str]]:
    """Installed models that can identify contacts (:func:`is_dimension`)."""
    configured = conf.dimensions()
    candidates: list[type[models.Model]] = []
    if configured is None:
        candidates = list(apps.get_models())
    else:
        for label in configured:
            try:
                candidates.append(apps.get_model(label))
            except (LookupError, ValueError):
                continue  # reported by the interaction.E003 system check
    choices = {
        model._meta.label_lower: (
            f"{str(model._meta.verbose_name).capitalize()} ({model._meta.label_lower})"
        )
        for model in candidates
        if is_dimension(model)
    }
    return sorted(choices.items())
