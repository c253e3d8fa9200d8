from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    PublishingPanel,
)
from wagtail.admin.ui.tables import Column, LiveStatusTagColumn

from ..models import OfferCategory
from .scoping import EnvironmentScopedViewSet


def _tree_label(category):
    return format_html(
        '<span style="padding-left: {}rem">{}{}</span>',
        category.depth * 1.5,
        "↳ " if category.depth else "",
        category.label,
    )


class OfferCategoryViewSet(EnvironmentScopedViewSet):
    model = OfferCategory
    icon = "folder-open-inverse"
    menu_label = _("Categories")
    menu_order = 200
    ordering = ["environment", "tree_path"]
    list_display = [
        Column("tree", label=_("Category tree"), accessor=_tree_label),
        "code",
        "environment",
        "enabled",
        "always_include",
        LiveStatusTagColumn(),
    ]
    list_filter = ["environment", "live", "enabled"]
    list_export = [
        "code",
        "label",
        "parent",
        "environment",
        "enabled",
        "start_date",
        "end_date",
        "live",
        "has_unpublished_changes",
    ]
    panels = [
        FieldPanel("environment", widget=forms.Select),
        FieldPanel("parent", widget=forms.Select),
        FieldPanel("label"),
        FieldPanel("code"),
        FieldPanel("enabled"),
        FieldRowPanel([FieldPanel("start_date"), FieldPanel("end_date")]),
        FieldPanel("themes"),
        MultiFieldPanel(
            [
                FieldPanel("weight_multiplier"),
                FieldRowPanel(
                    [FieldPanel("multiplier_start"), FieldPanel("multiplier_end")]
                ),
            ],
            heading=_("Weight multiplier"),
        ),
        FieldPanel("target_filter"),
        FieldPanel("always_include"),
        PublishingPanel(),
    ]
