"""Admin forms: choices limited to the user's environments and to the
object's environment, category trees, offer checks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.forms import ModelChoiceField
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..engine.conditions import NUMBER
from ..models import OfferCategory, OfferWeight
from ..rules import for_user

#: Indents a category's label by its depth in a select (an option's leading
#: spaces are collapsed; these are not).
_INDENT = "\u00a0" * 4


def tree_label(category: OfferCategory) -> str:
    """A category's label indented by its depth, for a select (the tree)."""
    depth = category.depth
    return f"{_INDENT * depth}{'↳ ' if depth else ''}{category.label}"


def _has_environment(model) -> bool:
    try:
        model._meta.get_field("environment")
    except FieldDoesNotExist:
        return False
    return True


class _ByEnvironment(ModelChoiceIterator):
    """Choices grouped by environment (an ``<optgroup>`` each)."""

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        rows = self.queryset.select_related("environment")
        for environment, group in itertools.groupby(rows, lambda o: o.environment):
            yield (environment.label, [self.choice(row) for row in group])


class EnvironmentScopedForm(WagtailAdminModelForm):
    """Choices (categories, spaces, ...) of the environments the user may
    work in, and only of the object's environment once it has one.

    ``environment``: the object's environment when the form cannot know it
    (an inline row: its parent's). Categories are listed as trees; without an
    environment, choices are grouped by environment. ``help_texts`` (field
    name -> text) replaces fields' help, e.g. what a parent form knows of its
    environment, given to its inline rows.
    """

    #: Fields whose choices are of other environments than the object's, and
    #: which environments: the fallback space is an anonymous one.
    cross_environment = {"fallback_space": {"environment__dimension": ""}}

    def __init__(self, *args, environment=None, help_texts=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in (help_texts or {}).items():
            if name in self.fields:
                self.fields[name].help_text = text
        environment_id = getattr(environment, "pk", None) or getattr(
            self.instance, "environment_id", None
        )
        for name, field in self.fields.items():
            if isinstance(field, ModelChoiceField) and field.queryset is not None:
                self._scope(name, field, environment_id)

    def _scope(self, name: str, field: ModelChoiceField, environment_id) -> None:
        queryset: QuerySet = field.queryset  # type: ignore[assignment]
        if self.for_user is not None:
            queryset = for_user(queryset, self.for_user)
        model = queryset.model
        if name == "environment" or not _has_environment(model):
            field.queryset = queryset
            return
        if name in self.cross_environment:
            queryset = queryset.filter(**self.cross_environment[name])
            if self.instance.pk and model is type(self.instance):
                queryset = queryset.exclude(pk=self.instance.pk)
        elif environment_id is not None:
            queryset = queryset.filter(environment_id=environment_id)
        if issubclass(model, OfferCategory):
            field.label_from_instance = tree_label  # type: ignore[assignment]
            if isinstance(self.instance, OfferCategory) and self.instance.pk:
                # Not below itself: neither itself nor its subcategories.
                queryset = queryset.exclude(pk=self.instance.pk).exclude(
                    tree_path__startswith=f"{self.instance.tree_path}/"
                )
        if environment_id is None or name in self.cross_environment:
            # Set before the queryset, which gives the widget its choices.
            field.iterator = _ByEnvironment
            ordering = queryset.query.order_by or model._meta.ordering
            queryset = queryset.order_by(
                "environment__label", "environment_id", *ordering
            )
        field.queryset = queryset


def formula_help(environment=None) -> str:
    """What a weight formula may read (in ``environment``: its numeric contact
    fields), with an example that works there."""
    if environment is None:
        return str(
            _(
                "A number, or a formula over the contact's numeric fields and the "
                "call context, e.g. “2.5” or “1 + context.basket * 0.1”."
            )
        )
    numeric = sorted(
        name
        for name, spec in environment.condition_schema().contact_fields.items()
        if spec.kind == NUMBER
    )
    if not numeric:
        return str(
            _(
                "A number, or a formula over the call context, e.g. "
                "“2 + context.basket * 0.1”. This environment's contacts have no "
                "numeric field."
            )
        )
    return str(
        _(
            "A number, or a formula over the contact's numeric fields (%(fields)s) "
            "and the call context, e.g. “10 + %(field)s / 10” or "
            "“context.basket * 0.1”."
        )
        % {"fields": ", ".join(numeric), "field": numeric[0]}
    )


class OfferForm(EnvironmentScopedForm):
    """Checks weight rows against the environment, and required content on publish."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        weights = self.formsets.get("weights")
        if weights is not None:
            environment = (
                self.instance.category.environment
                if self.instance.category_id
                else None
            )
            # Read by every row, the empty one (new rows) included.
            weights.form_kwargs = {
                **weights.form_kwargs,
                "environment": environment,
                "help_texts": {"value": formula_help(environment)},
            }

    def clean(self):
        cleaned_data = super().clean()
        category = cleaned_data.get("category")
        spaces = cleaned_data.get("spaces")
        if category is not None:
            self._check_weights(category.environment)
            foreign = [
                s for s in spaces or () if s.environment_id != category.environment_id
            ]
            if foreign:
                self.add_error(
                    "spaces",
                    _("These spaces belong to another environment: %(spaces)s.")
                    % {"spaces": ", ".join(space.label for space in foreign)},
                )
        if spaces and not self.is_deferred_validation:
            errors = self.instance.publishing_errors(spaces, value_of=cleaned_data.get)
            if errors:
                self.add_error(
                    "spaces",
                    _("Fill the content these spaces require before publishing: ")
                    + " ".join(errors),
                )
        return cleaned_data

    def _check_weights(self, environment):
        formset = self.formsets.get("weights")
        if formset is None:
            return
        for form in formset.forms:
            # The parent form is cleaned before its formsets (modelcluster's
            # is_valid): clean the row now, or it has no cleaned data yet and
            # would be saved unchecked.
            form.is_valid()
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            row = OfferWeight(
                value=data.get("value") or "",
                start_date=data.get("start_date"),
                end_date=data.get("end_date"),
                space=data.get("space"),
                target_filter=data.get("target_filter"),
            )
            for field_name, messages in row.validation_errors(environment).items():
                for message in messages:
                    form.add_error(field_name, message)
