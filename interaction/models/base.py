"""What every catalogue model shares: scoped querysets, condition fields, dates."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EnvironmentScopedQuerySet(models.QuerySet):
    def for_user(self, user):
        """Rows of the environments ``user`` may work in."""
        from .environment import Environment

        if user.is_superuser:
            return self
        return self.filter(environment__in=Environment.objects.for_user(user))


class CatalogueQuerySet(EnvironmentScopedQuerySet):
    def live(self):
        """Published rows: for a live object the row holds the published content."""
        return self.filter(live=True)


class ConditionField(models.JSONField):
    """A condition tree, edited in forms with the condition builder.

    ``source`` names the form field that tells the builder the environment
    (``dimension``, ``environment``, ``category`` or ``space``); ``context``
    and ``offer`` whether call context and offer names may be compared. In
    migrations it is a plain ``JSONField``: the differences are the form's.
    """

    def __init__(self, *args, source="", context=True, offer=False, **kwargs):
        self.condition_source = source
        self.allow_context = context
        self.allow_offer = offer
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def formfield(self, form_class=None, choices_form_class=None, **kwargs):
        from ..targeting.forms import ConditionFormField
        from ..targeting.widgets import ConditionBuilder

        kwargs.setdefault(
            "widget",
            ConditionBuilder(
                source=self.condition_source,
                context=self.allow_context,
                offer=self.allow_offer,
            ),
        )
        return super().formfield(
            form_class=form_class or ConditionFormField,
            choices_form_class=choices_form_class,
            **kwargs,
        )


def condition_field(
    verbose_name, help_text="", *, source="", context=True, offer=False
):
    return ConditionField(
        source=source,
        context=context,
        offer=offer,
        verbose_name=verbose_name,
        blank=True,
        null=True,
        help_text=help_text
        or _(
            "Which contacts this applies to: add conditions on their fields with "
            "“+ Condition”, combine them in groups (all of, any of, not). Empty: "
            "every contact."
        ),
    )


def check_dates(
    errors: dict, start, end, start_field="start_date", end_field="end_date"
):
    if start and end and start > end:
        errors.setdefault(end_field, []).append(_("The end must be after the start."))
