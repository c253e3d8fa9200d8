from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    PublishingPanel,
    TabbedInterface,
)
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn

from ..models import OfferSpace
from .scoping import EnvironmentScopedViewSet


class OfferSpaceViewSet(EnvironmentScopedViewSet):
    model = OfferSpace
    icon = "placeholder"
    menu_label = _("Spaces")
    menu_order = 400
    list_display = [
        "label",
        "code",
        "channel",
        "environment",
        "real_time",
        LiveStatusTagColumn(),
        UpdatedAtColumn(),
    ]
    list_filter = ["environment", "channel", "live", "real_time"]
    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    FieldPanel("environment", widget=forms.Select),
                    FieldPanel("label"),
                    FieldPanel("code"),
                    FieldPanel("description"),
                    FieldPanel("channel"),
                    FieldPanel("real_time"),
                    FieldPanel("max_offers"),
                    MultiFieldPanel(
                        [
                            FieldPanel("default_category", widget=forms.Select),
                            FieldPanel("default_themes"),
                        ],
                        heading=_("When a call asks for no category or theme"),
                    ),
                ],
                heading=_("Space"),
            ),
            ObjectList(
                [
                    InlinePanel(
                        "content_fields",
                        heading=_("Content fields"),
                        label=_("Content field"),
                    ),
                    FieldPanel("html_template"),
                    FieldPanel("text_template"),
                ],
                heading=_("Rendering"),
            ),
            ObjectList(
                [
                    FieldPanel("identification_fields"),
                    FieldPanel("fallback_space", widget=forms.Select),
                    FieldPanel("store_propositions"),
                    FieldPanel("initial_status"),
                    FieldPanel("accepted_status"),
                ],
                heading=_("Identification and storage"),
            ),
            ObjectList([PublishingPanel()], heading=_("Publishing")),
        ]
    )
