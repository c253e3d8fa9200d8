"""Conditions and formulas checked for admin forms and model ``clean()``.

The engine raises :class:`~interaction.engine.errors.InvalidDefinition`; forms
and models want a ``ValidationError`` on the field that holds the text.
"""

from __future__ import annotations

from ..engine.conditions import ConditionSchema, validate_condition
from ..engine.errors import InvalidDefinition
from ..engine.formulas import validate_formula


def check_condition(errors: dict, field_name: str, tree, schema: ConditionSchema):
    """Add the error of condition ``tree``, if any, to ``errors[field_name]``."""
    try:
        validate_condition(tree, schema)
    except InvalidDefinition as error:
        errors.setdefault(field_name, []).append(str(error))


def check_formula(errors: dict, field_name: str, text, schema: ConditionSchema):
    """Add the error of formula ``text``, if any, to ``errors[field_name]``."""
    try:
        validate_formula(text, schema)
    except InvalidDefinition as error:
        errors.setdefault(field_name, []).append(str(error))
