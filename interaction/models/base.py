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


def condition_field(verbose_name, help_text=""):
    return models.JSONField(
        verbose_name=verbose_name,
        blank=True,
        null=True,
        help_text=help_text
        or _(
            'Optional. A condition on the contact, e.g. {"all": [{"field": "country", '
            '"op": "=", "value": "FR"}, {"field": "age", "op": ">=", "value": 18}]}. '
            "Groups: all, any, not. Operators: =, !=, <, <=, >, >=, in, not in, "
            'contains, startswith, is empty, is not empty. Dates: "2026-01-31" or '
            '{"today": -30}. Call context: "context.language".'
        ),
    )


def check_dates(
    errors: dict, start, end, start_field="start_date", end_field="end_date"
):
    if start and end and start > end:
        errors.setdefault(end_field, []).append(_("The end must be after the start."))
