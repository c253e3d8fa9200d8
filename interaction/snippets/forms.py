"""Admin forms: choices limited to the user's environments, offer checks."""

from django.forms import ModelChoiceField
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..engine.conditions import NUMBER
from ..models import OfferWeight
from ..rules import for_user


class EnvironmentScopedForm(WagtailAdminModelForm):
    """Offers only environments, categories and spaces the user may work in.

    ``help_texts`` (field name -> text) replaces fields' help, e.g. what a
    parent form knows of its environment, given to its inline rows.
    """

    def __init__(self, *args, help_texts=None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in (help_texts or {}).items():
            if name in self.fields:
                self.fields[name].help_text = text
        if self.for_user is None:
            return
        for field in self.fields.values():
            if isinstance(field, ModelChoiceField) and field.queryset is not None:
                field.queryset = for_user(field.queryset, self.for_user)


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
