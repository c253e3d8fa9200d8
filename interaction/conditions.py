"""Condition trees (SPEC §4): their JSON format and their validation.

A condition is a JSON tree::

    {"all": [cond, ...]}      every sub-condition holds (an empty list is true)
    {"any": [cond, ...]}      at least one holds (an empty list is false)
    {"not": cond}             the sub-condition does not hold
    {"field": "age", "op": ">=", "value": 18}

Field names are the contact's fields (``country``, or ``company__name`` for a
related field one level deep), ``context.<name>`` for the call context, and, in
typology rules, ``offer.<name>`` for the offer. Date values are ISO dates or
``{"today": n}`` (today plus n days, n may be negative).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models

TEXT, NUMBER, BOOL, DATE, DATETIME, ANY = (
    "text",
    "number",
    "bool",
    "date",
    "datetime",
    "any",
)

EMPTINESS_OPERATORS = ("is empty", "is not empty")
LIST_OPERATORS = ("in", "not in")
ORDER_OPERATORS = ("<", "<=", ">", ">=")
TEXT_OPERATORS = ("contains", "startswith")
EQUALITY_OPERATORS = ("=", "!=")
OPERATORS = (
    EQUALITY_OPERATORS + ORDER_OPERATORS + LIST_OPERATORS + TEXT_OPERATORS
) + EMPTINESS_OPERATORS

OPERATORS_BY_KIND = {
    TEXT: EQUALITY_OPERATORS + LIST_OPERATORS + TEXT_OPERATORS + EMPTINESS_OPERATORS,
    NUMBER: EQUALITY_OPERATORS + ORDER_OPERATORS + LIST_OPERATORS + EMPTINESS_OPERATORS,
    DATE: EQUALITY_OPERATORS + ORDER_OPERATORS + EMPTINESS_OPERATORS,
    DATETIME: EQUALITY_OPERATORS + ORDER_OPERATORS + EMPTINESS_OPERATORS,
    BOOL: EQUALITY_OPERATORS + EMPTINESS_OPERATORS,
    ANY: OPERATORS,
}

CONTEXT_PREFIX = "context."
OFFER_PREFIX = "offer."

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


@dataclass(frozen=True)
class FieldSpec:
    """What a condition may compare: a field's kind and, if any, its choices."""

    name: str
    kind: str
    choices: tuple = field(default=())


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
            related = model_field.related_model
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


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_date(value, kind: str) -> bool:
    if isinstance(value, dict):
        return set(value) == {"today"} and isinstance(value["today"], int)
    if not isinstance(value, str):
        return False
    try:
        if kind == DATE:
            datetime.date.fromisoformat(value)
        else:
            datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _value_matches(value, spec: FieldSpec) -> bool:
    if spec.kind == ANY:
        return value is None or isinstance(value, str | int | float | bool)
    if spec.kind == TEXT:
        return isinstance(value, str)
    if spec.kind == NUMBER:
        return _is_number(value)
    if spec.kind == BOOL:
        return isinstance(value, bool)
    return _is_date(value, spec.kind)


_KIND_DESCRIPTIONS = {
    TEXT: "a text",
    NUMBER: "a number",
    BOOL: "true or false",
    DATE: 'an ISO date ("2026-01-31") or {"today": n}',
    DATETIME: 'an ISO date-time or {"today": n}',
}


@dataclass
class ConditionSchema:
    """The names a condition may use, and whether context/offer names are allowed."""

    contact_fields: dict[str, FieldSpec]
    allow_context: bool = True
    offer_fields: dict[str, FieldSpec] | None = None
    dimension_label: str = "contact"

    def resolve(self, name: str) -> FieldSpec:
        if name.startswith(CONTEXT_PREFIX):
            if not self.allow_context:
                raise ValidationError(
                    f"“{name}”: call context fields cannot be used here."
                )
            if not name[len(CONTEXT_PREFIX) :]:
                raise ValidationError("“context.” needs a field name after the dot.")
            return FieldSpec(name, ANY)
        if name.startswith(OFFER_PREFIX):
            if self.offer_fields is None:
                raise ValidationError(f"“{name}”: offer fields cannot be used here.")
            spec = self.offer_fields.get(name[len(OFFER_PREFIX) :])
            if spec is None:
                known = ", ".join(sorted(self.offer_fields))
                raise ValidationError(
                    f"Unknown offer field “{name}”. Known offer fields: {known}."
                )
            return spec
        spec = self.contact_fields.get(name)
        if spec is None:
            if not self.contact_fields:
                raise ValidationError(
                    f"Unknown field “{name}”: this environment is anonymous, only "
                    "“context.…” fields can be used."
                )
            known = ", ".join(sorted(self.contact_fields))
            raise ValidationError(
                f"Unknown field “{name}” on {self.dimension_label}. "
                f"Known fields: {known}."
            )
        return spec


def validate_condition(tree, schema: ConditionSchema) -> None:
    """Raise ``ValidationError`` naming the first wrong part of ``tree``.

    ``None`` and ``{}`` mean "no condition" and are valid.
    """
    if tree in (None, {}):
        return
    _validate_node(tree, schema, path="condition")


def _validate_node(node, schema: ConditionSchema, path: str) -> None:
    if not isinstance(node, dict):
        raise ValidationError(
            f"{path}: expected an object such as "
            '{"field": …, "op": …, "value": …} or {"all": [...]}.'
        )
    groups = {"all", "any", "not"} & node.keys()
    if groups:
        if len(node) != 1:
            raise ValidationError(
                f"{path}: a group has exactly one key, “all”, “any” or “not”."
            )
        key = next(iter(groups))
        if key == "not":
            _validate_node(node["not"], schema, f"{path}.not")
            return
        children = node[key]
        if not isinstance(children, list):
            raise ValidationError(f"{path}.{key}: expected a list of conditions.")
        for index, child in enumerate(children):
            _validate_node(child, schema, f"{path}.{key}[{index}]")
        return
    _validate_comparison(node, schema, path)


def _validate_comparison(node: dict, schema: ConditionSchema, path: str) -> None:
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys or "field" not in node or "op" not in node:
        raise ValidationError(
            f"{path}: a comparison has the keys “field”, “op” and “value”."
        )
    name, op = node["field"], node["op"]
    if not isinstance(name, str):
        raise ValidationError(f"{path}: “field” must be a field name.")
    spec = schema.resolve(name)
    if op not in OPERATORS:
        raise ValidationError(
            f"“{name}”: unknown operator “{op}”. Operators: {', '.join(OPERATORS)}."
        )
    allowed = OPERATORS_BY_KIND[spec.kind]
    if op not in allowed:
        raise ValidationError(
            f"“{name}”: operator “{op}” does not apply to "
            f"{_KIND_DESCRIPTIONS[spec.kind]} field. Use one of: {', '.join(allowed)}."
        )
    if op in EMPTINESS_OPERATORS:
        if node.get("value") is not None:
            raise ValidationError(f"“{name}”: “{op}” takes no value.")
        return
    if "value" not in node:
        raise ValidationError(f"“{name}”: “{op}” needs a value.")
    value = node["value"]
    values = value if op in LIST_OPERATORS else [value]
    if op in LIST_OPERATORS and not isinstance(value, list):
        raise ValidationError(f"“{name}”: “{op}” needs a list of values.")
    if op in TEXT_OPERATORS and spec.kind == ANY and not isinstance(value, str):
        raise ValidationError(f"“{name}”: “{op}” needs a text value.")
    for item in values:
        if not _value_matches(item, spec):
            description = _KIND_DESCRIPTIONS.get(spec.kind, "a plain value")
            raise ValidationError(f"“{name}”: the value {item!r} is not {description}.")
        if spec.choices and op not in TEXT_OPERATORS and item not in spec.choices:
            choices = ", ".join(repr(choice) for choice in spec.choices)
            raise ValidationError(
                f"“{name}”: {item!r} is not one of its choices ({choices})."
            )
