from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.admin.ui.tables import BooleanColumn

from ..models import TypologyRule
from .reviews import ReviewInspectView
from .scoping import EnvironmentScopedViewSet


class TypologyRuleViewSet(EnvironmentScopedViewSet):
    inspect_view_class = ReviewInspectView
    model = TypologyRule
    icon = "list-ul"
    menu_label = _("Typology rules")
    menu_order = 500
    list_display = [
        "label",
        "code",
        "environment",
        "channel",
        "quantity",
        BooleanColumn("active", label=_("Active"), sort_key="active"),
    ]
    list_filter = ["environment", "channel", "active", "global_capping"]
    list_export = [
        "code",
        "label",
        "environment",
        "channel",
        "period_days",
        "period_hours",
        "quantity",
        "counted_offers",
        "counted_statuses",
        "same_channel_only",
        "global_capping",
        "active",
    ]
    panels = [
        FieldPanel("environment", widget=forms.Select),
        FieldPanel("label"),
        FieldPanel("code"),
        FieldPanel("active"),
        FieldPanel("channel"),
        FieldPanel("offer_condition"),
        FieldPanel("contact_condition"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("period_days"), FieldPanel("period_hours")]),
                FieldPanel("quantity"),
                FieldPanel("same_channel_only"),
                FieldPanel("counted_offers"),
                FieldPanel("counted_statuses"),
                FieldPanel("global_capping"),
            ],
            heading=_("History counted"),
        ),
    ]
