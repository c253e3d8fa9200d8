"""The form field of every condition (target filters, rule conditions, the
campaign population): JSON, bounded, edited with the condition builder.

Validation against the dimension stays in the models' ``clean()``
(:mod:`.validation`); this field only refuses what is not a JSON tree of a
sane size.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..engine.conditions import MAX_DEPTH

#: The longest condition text a form or the count endpoint takes (characters).
MAX_CONDITION_LENGTH = 20_000


class ConditionFormField(forms.JSONField):
    default_error_messages = {
        "too_long": _("A condition is at most %(max)d characters of JSON."),
        "too_deep": _("A condition is nested deeper than %(max)d levels."),
    }

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_CONDITION_LENGTH:
            raise forms.ValidationError(
                self.error_messages["too_long"],
                code="too_long",
                params={"max": MAX_CONDITION_LENGTH},
            )
        try:
            return super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(
                self.error_messages["too_deep"],
                code="too_deep",
                params={"max": MAX_DEPTH},
            ) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        if isinstance(data, str) and len(data) > MAX_CONDITION_LENGTH:
            return forms.fields.InvalidJSONInput(data)
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)
