"""Reviews that show everything (issue 13): what an approver approves, readable.

- Approvers compare revisions: comparing changes nothing, so whoever may view
  the object (an approver holds ``view`` only) may compare, in the
  environments they work in (the object check of :mod:`.scoping`).
- The inspect view shows conditions as sentences
  (:func:`~interaction.targeting.describe.describe_condition`), rich text
  rendered, an offer's weight rows as a table, never Python dicts or raw HTML.
- :func:`offer_review` lists every attribute an approver approves, for the
  offer's preview (the workflow preview shows the revision under review).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.db.models import JSONField
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from wagtail.admin.compare import (
    FieldComparison,
    ForeignObjectComparison,
    TextDiff,
    TextFieldComparison,
    diff_text,
    register_comparison_class,
)
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.snippets.views import snippets as snippet_views

from ..delivery.rendering import display_html
from ..models.base import ConditionField
from ..targeting.describe import FieldLabel, describe_condition, field_labels

if TYPE_CHECKING:
    from ..models import Offer


def _environment(obj: Any) -> Any:
    """The environment ``obj`` belongs to (an environment, category, offer,
    space, rule or weight row), or ``None``."""
    from ..models import Environment

    if obj is None or isinstance(obj, Environment):
        return obj
    for name in ("environment", "category", "offer"):
        try:
            related = getattr(obj, name, None)
        except ObjectDoesNotExist:  # a draft's unset relation
            related = None
        if related is not None:
            return related if name == "environment" else _environment(related)
    return None


def labels_for(obj: Any) -> dict[str, FieldLabel]:
    """How the conditions of ``obj`` name its environment's contact fields."""
    environment = _environment(obj)
    return field_labels(environment.dimension_model if environment else None)


def _date(value) -> str:
    if not value:
        return ""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _dates(start, end) -> str:
    if start and end:
        return str(_("from %(start)s until %(end)s")) % {
            "start": _date(start),
            "end": _date(end),
        }
    if start:
        return str(_("from %(start)s")) % {"start": _date(start)}
    if end:
        return str(_("until %(end)s")) % {"end": _date(end)}
    return ""


def weight_rows(offer: Offer) -> list[dict[str, str]]:
    """The offer's weight rows as an approver reads them."""
    labels = labels_for(offer)
    return [
        {
            "label": row.label,
            "value": row.value,
            "dates": _dates(row.start_date, row.end_date),
            "space": row.space.label if row.space_id and row.space else "",
            "condition": describe_condition(row.target_filter, labels),
        }
        for row in offer.weights.all()
    ]


def render_weights(offer: Offer) -> str:
    """The weight rows as an HTML table (an escaping template)."""
    return render_to_string(
        "interaction/admin/weight_rows.html", {"weights": weight_rows(offer)}
    )


def offer_review(offer: Offer) -> list[tuple[Any, Any]]:
    """(label, value) for every attribute of ``offer`` an approver approves;
    HTML values are safe strings (sanitised content, escaped templates)."""
    category = offer.category if offer.category_id else None
    path = (
        " › ".join(c.label for c in [*reversed(category.ancestors()), category])
        if category
        else ""
    )
    spaces = ", ".join(
        f"{space.label}" + ("" if space.live else str(_(" (not published)")))
        for space in offer.spaces.all()
    )
    return [
        (_("Category"), path),
        (_("Label"), offer.label),
        (_("Code"), offer.code),
        (_("Description"), offer.description),
        (_("Eligible"), _dates(offer.start_date, offer.end_date) or _("any date")),
        (_("Spaces"), spaces or _("none")),
        (
            _("Target filter"),
            describe_condition(offer.target_filter, labels_for(offer))
            or _("every contact"),
        ),
        (_("Weights"), mark_safe(render_weights(offer))),  # noqa: S308 - escaped
        (_("Title"), offer.title),
        (_("Destination URL"), offer.destination_url),
        (_("Image"), str(offer.image) if offer.image_id and offer.image else ""),
        # Expanded and sanitised as for display (a draft is not sanitised yet).
        (_("HTML content"), display_html(offer)),
        (_("Text content"), offer.text_content),
        (
            _("Scheduled"),
            _dates(
                getattr(offer, "go_live_at", None), getattr(offer, "expire_at", None)
            ),
        ),
    ]


class ConditionComparison(TextFieldComparison):
    """A condition compared as the sentences approvers read, not as dicts.

    A changed condition reads as the sentence before, struck, over the
    sentence after: a word diff of two conditions interleaves their groups
    into one unreadable sentence ("… “DE” orone of “gold” …").
    """

    def __init__(self, field, obj_a, obj_b):
        super().__init__(field, obj_a, obj_b)
        self.labels = labels_for(obj_b)

    def htmldiff(self):
        before = describe_condition(self.val_a, self.labels)
        after = describe_condition(self.val_b, self.labels)
        if not before or not after or before == after:
            return diff_text(before, after).to_html()
        return format_html(
            '<span class="deletion">{}</span><br><span class="addition">{}</span>',
            before,
            after,
        )


register_comparison_class(ConditionField, comparison_class=ConditionComparison)


class DateComparison(FieldComparison):
    """A date compared as the inspect view shows it: local, formatted; no
    date is empty, as Wagtail shows an empty text (not "None")."""

    def htmldiff(self):
        before, after = _date(self.val_a), _date(self.val_b)
        if before == after:
            return before
        return TextDiff(
            [
                (kind, text)
                for kind, text in (("deletion", before), ("addition", after))
                if text
            ]
        ).to_html()


class OptionalObjectComparison(ForeignObjectComparison):
    """An optional relation (a weight row's space): none is empty, not "None"."""

    def htmldiff(self):
        if self.val_a is None and self.val_b is None:
            return ""
        return super().htmldiff()


class ReviewFieldPanel(FieldPanel):
    """A field panel whose revision comparison shows no value as Wagtail
    shows an empty text: dates and optional relations (an added weight row
    read "Applies from: None")."""

    def get_comparison_class(self):
        try:
            field = self.db_field
        except FieldDoesNotExist:
            return super().get_comparison_class()
        if isinstance(field, models.DateTimeField):
            return DateComparison
        if isinstance(field, models.ForeignKey) and field.null:
            return OptionalObjectComparison
        return super().get_comparison_class()


class ReviewCompareView(snippet_views.RevisionsCompareView):
    """Comparing revisions changes nothing: viewing is enough (approvers)."""

    permission_required = None
    any_permission_required = ["add", "change", "delete", "view"]


class ReviewInspectView(snippet_views.InspectView):
    """Conditions as sentences, rich text rendered, an offer's weight rows."""

    def get_fields(self):
        fields = super().get_fields()
        if hasattr(self.model, "weights") and "weights" not in fields:
            fields = [*fields, "weights"]
        return fields

    def get_field_display_value(self, field_name, field):
        if isinstance(field, JSONField):
            condition = getattr(self.object, field_name)
            return describe_condition(condition, labels_for(self.object)) or "—"
        if isinstance(field, RichTextField) and field_name == "html_content":
            return display_html(self.object)
        value = super().get_field_display_value(field_name, field)
        if value is None:
            return "—"
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return value

    def get_weights_display_value(self):
        return mark_safe(render_weights(self.object))  # noqa: S308 - escaped


class ReviewsViewSetMixin:
    """Approvers compare revisions; the inspect view is readable."""

    revisions_compare_view_class = ReviewCompareView
    inspect_view_class = ReviewInspectView
