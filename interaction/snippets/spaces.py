from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    PublishingPanel,
    TabbedInterface,
)
from wagtail.admin.ui.tables import BooleanColumn, LiveStatusTagColumn, UpdatedAtColumn

from ..delivery import sandbox
from ..delivery.rendering import VARIABLES
from ..models import OfferSpace
from .reviews import ReviewsViewSetMixin
from .scoping import EnvironmentScopedViewSet
from .serving import ServingWarningsViewSetMixin

TEMPLATE_HELP = format_lazy(
    _(
        "Django template syntax, rendered in a sandbox; leave empty for the default "
        "rendering. Variables: {variables}. Tags: {tags} (no load, include or "
        "extends). Filters: Django's, except safe, safeseq, pprint and json_script: "
        "offer.html_content is already sanitised HTML, every other value is "
        "escaped. The HTML is sanitised again once rendered (no scripts, event "
        "handlers or javascript: links). At most {length:,} characters, "
        "{iterations:,} loop iterations, {output:,} characters of output and "
        "{seconds} s per rendering: a template that fails or goes past these "
        "renders the default instead."
    ),
    variables=VARIABLES,
    tags=", ".join(sandbox.ALLOWED_TAGS),
    length=sandbox.MAX_TEMPLATE_LENGTH,
    iterations=sandbox.MAX_LOOP_ITERATIONS,
    output=sandbox.MAX_OUTPUT,
    seconds=sandbox.MAX_RENDER_SECONDS,
)
TEXT_TEMPLATE_HELP = _(
    "Plain-text rendering: the same variables, tags, filters and bounds, nothing "
    "escaped. Leave empty for the default one."
)


class OfferSpaceViewSet(
    ReviewsViewSetMixin, ServingWarningsViewSetMixin, EnvironmentScopedViewSet
):
    model = OfferSpace
    icon = "placeholder"
    menu_label = _("Spaces")
    menu_order = 400
    list_display = [
        "label",
        "code",
        "channel",
        "environment",
        BooleanColumn(
            "real_time", label=_("Real-time calls allowed"), sort_key="real_time"
        ),
        LiveStatusTagColumn(),
        UpdatedAtColumn(),
    ]
    list_filter = ["environment", "channel", "live", "real_time"]
    list_export = [
        "code",
        "label",
        "channel",
        "environment",
        "real_time",
        "max_offers",
        "live",
        "has_unpublished_changes",
    ]
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
                    FieldPanel("html_template", help_text=TEMPLATE_HELP),
                    FieldPanel("text_template", help_text=TEXT_TEMPLATE_HELP),
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
