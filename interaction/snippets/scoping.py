"""One mechanism scopes every snippet view to the user's environments (SPEC §1).

Wagtail's admin views check model permissions only. :class:`EnvironmentScopedViewSet`
builds every view it serves through :meth:`construct_view`, which adds an
object check to the view class: present and future views alike refuse an
object (``pk`` in the URL) of an environment the user may not work in. The
check reads the database row, so a draft cannot move an object out of reach.
Every queryset a user can reach goes through :func:`for_user`: listings
(``get_queryset``), their filters (:class:`EnvironmentScopedFilterSet`), the
snippet choosers (:class:`EnvironmentScopedChooserViewSet`), form selects,
inline rows included (:class:`~interaction.snippets.forms.EnvironmentScopedForm`,
:class:`EnvironmentScopedInlinePanel`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.filters import QuerySetRequestMixin
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import InlinePanel, get_form_for_model
from wagtail.admin.views.generic import models as generic_models
from wagtail.admin.views.mixins import SpreadsheetExportMixin
from wagtail.snippets.views import chooser
from wagtail.snippets.views.snippets import SnippetViewSet

from ..reports.exports import StreamingExportMixin
from ..rules import can_work_in, for_user
from .forms import EnvironmentScopedForm

if TYPE_CHECKING:
    # What the mixins are mixed into: Wagtail views (untyped), i.e. Django views.
    from django.views import View as _View
    from wagtail.snippets.views.chooser import ChooseView as _ChooserView
else:
    _View = _ChooserView = object


class EnvironmentScopedFilterSet(WagtailFilterSet):
    """Listing filters whose choices (environments, categories, spaces…) are
    the user's only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for listing_filter in self.filters.values():
            if isinstance(listing_filter, QuerySetRequestMixin):
                listing_filter.queryset = _scoped(listing_filter.queryset)


def _scoped(queryset):
    def choices(request) -> QuerySet:
        base = queryset(request) if callable(queryset) else queryset
        return for_user(base, request.user)

    return choices


class EnvironmentScopedInlinePanel(InlinePanel):
    """An inline panel whose rows' selects are scoped like the parent form's.

    modelcluster gives a child form only the parent's attributes named in
    ``inherit_kwargs``; Wagtail's InlinePanel names none, so rows would list
    every environment's objects.
    """

    def get_form_options(self):
        options = super().get_form_options()
        formset = options["formsets"][self.relation_name]
        formset["inherit_kwargs"] = ["for_user"]
        # Wagtail may have built a row form already (fields whose "required"
        # is deferred): rebuild it on the scoped form, with the same options.
        deferred = self.child_edit_handler.get_form_options().get(
            "defer_required_on_fields"
        )
        formset["form"] = get_form_for_model(
            self.db_field.related_model,
            form_class=EnvironmentScopedForm,
            **({"defer_required_on_fields": deferred} if deferred else {}),
        )
        return options


class _ScopedChoices(_ChooserView):
    def get_object_list(self):
        return for_user(super().get_object_list(), self.request.user)


class _ScopedChosen(_ChooserView):
    def get_object(self, pk):
        return for_user(self.model_class.objects.all(), self.request.user).get(pk=pk)

    def get_objects(self, pks):
        return for_user(self.model_class.objects.all(), self.request.user).filter(
            pk__in=pks
        )


class EnvironmentScopedChooserViewSet(chooser.SnippetChooserViewSet):
    """Snippet choosers (blocks, forms) listing and returning only objects of
    the user's environments: another environment's object is a 404."""

    choose_view_class = type("ChooseView", (_ScopedChoices, chooser.ChooseView), {})
    choose_results_view_class = type(
        "ChooseResultsView", (_ScopedChoices, chooser.ChooseResultsView), {}
    )
    chosen_view_class = type(
        "ChosenView", (_ScopedChosen, chooser.SnippetChosenView), {}
    )
    chosen_multiple_view_class = type(
        "ChosenMultipleView", (_ScopedChosen, chooser.SnippetChosenMultipleView), {}
    )


class EnvironmentAccessMixin(_View):
    model: type[Model]

    def dispatch(self, request, *args, **kwargs):
        pk = kwargs.get("pk")
        if pk is not None:
            obj = self.model._default_manager.filter(pk=unquote(str(pk))).first()
            if obj is not None and not can_work_in(request.user, obj):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class CreateRaceMixin(_View):
    """A create view that answers a save losing a race with a form error.

    Wagtail's autosave may create the object while the editor's own save is
    on its way: both pass validation, the second insert breaks a unique
    constraint (e.g. a space's code). That is a message to the editor, not a
    server error; nothing is written (the save's transaction is rolled back).
    """

    def form_valid(self, form):
        try:
            return super().form_valid(form)  # type: ignore[misc]
        except IntegrityError:
            form.add_error(
                None,
                _(
                    "This could not be saved: another save (e.g. the automatic "
                    "one) has just created an object with the same code. Open it "
                    "from the listing, or choose another code."
                ),
            )
            self.produced_error_code = "validation_error"
            self.produced_error_message = self.get_error_message()  # type: ignore[attr-defined]
            return self.form_invalid(form)  # type: ignore[attr-defined]


@functools.cache
def scoped(view_class: type) -> type:
    """``view_class`` refusing objects of other environments (built once)."""
    if issubclass(view_class, EnvironmentAccessMixin):
        return view_class
    attributes = {}
    if hasattr(view_class, "base_filterset_class"):
        attributes["base_filterset_class"] = EnvironmentScopedFilterSet
    bases: tuple[type, ...] = (EnvironmentAccessMixin, view_class)
    if issubclass(view_class, SpreadsheetExportMixin):
        # Listing exports read their rows a chunk at a time, formula-safe.
        bases = (EnvironmentAccessMixin, StreamingExportMixin, view_class)
    if issubclass(view_class, generic_models.CreateView):
        bases = (EnvironmentAccessMixin, CreateRaceMixin, view_class)
    return type(view_class.__name__, bases, attributes)


class EnvironmentScopedViewSet(SnippetViewSet):
    inspect_view_enabled = True
    search_backend_name = None
    search_fields = ["code", "label"]
    list_per_page = 50
    base_form_class = EnvironmentScopedForm
    chooser_viewset_class = EnvironmentScopedChooserViewSet

    def construct_view(self, view_class, **kwargs):
        return super().construct_view(scoped(view_class), **kwargs)

    def get_queryset(self, request):
        return for_user(self.model._default_manager.all(), request.user)

    def get_edit_handler(self):
        edit_handler = super().get_edit_handler()
        if edit_handler.base_form_class is None:
            edit_handler.base_form_class = self.base_form_class
        return edit_handler
