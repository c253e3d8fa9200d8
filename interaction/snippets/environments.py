from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.admin.ui.tables import Column

from ..models import Environment
from .reviews import ReviewInspectView
from .scoping import EnvironmentScopedViewSet


def dimension_text(environment: Environment) -> str:
    """The dimension as the listing shows it; an anonymous environment says so
    (its empty value showed nothing)."""
    if environment.is_anonymous:
        return str(_("Anonymous visitors"))
    return environment.get_dimension_display()


class EnvironmentViewSet(EnvironmentScopedViewSet):
    inspect_view_class = ReviewInspectView
    model = Environment
    icon = "site"
    menu_label = _("Environments")
    menu_order = 100
    list_display = [
        "label",
        "code",
        Column(
            "dimension",
            label=_("Targeting dimension"),
            accessor=dimension_text,
            sort_key="dimension",
        ),
    ]
    list_filter = ["dimension"]
    list_export = ["code", "label", "dimension"]
    panels = [
        FieldPanel("label"),
        FieldPanel("code"),
        FieldPanel("description"),
        FieldPanel("dimension"),
        FieldPanel("target_filter"),
        MultiFieldPanel(
            [
                FieldPanel("groups", widget=forms.CheckboxSelectMultiple),
                FieldPanel("users"),
            ],
            heading=_("Who works in this environment"),
        ),
    ]
