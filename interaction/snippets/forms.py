"""Admin forms: choices limited to the user's environments, offer checks."""

from django.forms import ModelChoiceField
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..models import OfferWeight
from ..rules import for_user


class EnvironmentScopedForm(WagtailAdminModelForm):
    """Offers only environments, categories and spaces the user may work in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.for_user is None:
            return
        for field in self.fields.values():
            if isinstance(field, ModelChoiceField) and field.queryset is not None:
                field.queryset = for_user(field.queryset, self.for_user)


class OfferForm(EnvironmentScopedForm):
    """Checks weight rows against the environment, and required content on publish."""

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
