"""Why an object would not be served now (:mod:`interaction.delivery.serving`),
in its listing (a column) and at the top of its edit view, where approvers
review it too."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column
from wagtail.admin.views import generic

from ..delivery.serving import category_warnings, offer_warnings, space_warnings
from ..models import Offer, OfferCategory, OfferSpace

if TYPE_CHECKING:
    # What the mixins are mixed into: Wagtail's (untyped) listing and edit views.
    from django.views import View as _View
else:
    _View = object

#: The attribute the listing sets on each row.
ATTRIBUTE = "serving_warnings"

_WARNINGS: dict[type, Callable[[Iterable[Any]], dict[int, list[str]]]] = {
    Offer: offer_warnings,
    OfferCategory: category_warnings,
    OfferSpace: space_warnings,
}


def warnings_for(model: type, objects: Iterable[Any]) -> dict[int, list[str]]:
    return _WARNINGS[model](objects)


class ServingWarningsColumn(Column):
    """What stops the row from being served now, if anything."""

    cell_template_name = "interaction/admin/serving_warnings_cell.html"

    def __init__(self, **kwargs):
        super().__init__(ATTRIBUTE, label=kwargs.pop("label", _("Warnings")), **kwargs)


class ServingWarningsIndexMixin(_View):
    model: type

    def get_table(self, object_list):
        rows = list(object_list)
        warnings = warnings_for(self.model, rows)
        for row in rows:
            setattr(row, ATTRIBUTE, warnings.get(row.pk, []))
        return super().get_table(rows)  # type: ignore[misc]


class ServingWarningsEditMixin(_View):
    """Adds ``serving_warnings`` (of the object's row: the live version of a
    live object) to the edit view's context."""

    model: type

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        row = getattr(self, "live_object", None) or getattr(self, "object", None)
        if row is not None and row.pk:
            context[ATTRIBUTE] = warnings_for(self.model, [row]).get(row.pk, [])
        return context


class ServingWarningsViewSetMixin:
    """A snippet viewset whose listing has a warnings column and whose edit
    view shows the warnings above the form (whatever index and edit view
    classes the viewset sets)."""

    model: type
    list_display: list
    edit_template_name = "interaction/admin/edit_with_warnings.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_display = [*self.list_display, ServingWarningsColumn()]

    def construct_view(self, view_class, **kwargs):
        if issubclass(view_class, generic.IndexView):
            view_class = _with(ServingWarningsIndexMixin, view_class)
        elif issubclass(view_class, generic.EditView):
            view_class = _with(ServingWarningsEditMixin, view_class)
        return super().construct_view(view_class, **kwargs)  # type: ignore[misc]


@functools.cache
def _with(mixin: type, view_class: type) -> type:
    """``view_class`` with ``mixin`` (built once)."""
    if issubclass(view_class, mixin):
        return view_class
    return type(view_class.__name__, (mixin, view_class), {})
