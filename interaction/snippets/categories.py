from django import forms
from django.contrib.admin.utils import quote
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    PublishingPanel,
)
from wagtail.admin.ui.tables import BooleanColumn, LiveStatusTagColumn, TitleColumn
from wagtail.snippets.views.snippets import IndexView

from ..models import OfferCategory
from .reviews import ReviewsViewSetMixin
from .scoping import EnvironmentScopedViewSet
from .serving import ServingWarningsViewSetMixin


def _tree_label(category):
    return format_html(
        '<span style="padding-left: {}rem">{}{}</span>',
        category.depth * 1.5,
        "↳ " if category.depth else "",
        category.label,
    )


class CategoryIndexView(IndexView):
    """The category tree as the title column: each label links to the edit
    view (or the inspect view) and carries the row's action menu."""

    @cached_property
    def columns(self):
        columns = list(super().columns)
        # In place of the label's title column (the bulk actions' checkboxes
        # come first).
        title = next(i for i, c in enumerate(columns) if isinstance(c, TitleColumn))
        columns[title] = self._get_title_column_class(TitleColumn)(
            "tree",
            label=_("Category tree"),
            accessor=_tree_label,
            sort_key="tree_path",
            get_url=lambda category: (
                self.get_edit_url(category) or self.get_inspect_url(category)
            ),
            get_title_id=lambda category: f"snippet_{quote(category.pk)}_title",
        )
        return columns


class OfferCategoryViewSet(
    ReviewsViewSetMixin, ServingWarningsViewSetMixin, EnvironmentScopedViewSet
):
    model = OfferCategory
    icon = "folder-open-inverse"
    menu_label = _("Categories")
    menu_order = 200
    ordering = ["environment", "tree_path"]
    index_view_class = CategoryIndexView
    list_display = [
        "label",
        "code",
        "environment",
        BooleanColumn("enabled", label=_("Enabled"), sort_key="enabled"),
        BooleanColumn(
            "always_include",
            label=_("Always include in recommendations"),
            sort_key="always_include",
        ),
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
