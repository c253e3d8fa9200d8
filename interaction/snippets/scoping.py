"""One mechanism scopes every snippet view to the user's environments (SPEC §1).

Wagtail's admin views check model permissions only. :class:`EnvironmentScopedViewSet`
builds every view it serves through :meth:`construct_view`, which adds an
object check to the view class: present and future views alike refuse an
object (``pk`` in the URL) of an environment the user may not work in. The
check reads the database row, so a draft cannot move an object out of reach.
Listings are filtered by ``get_queryset``; forms offer only the user's
environments (:class:`~interaction.snippets.forms.EnvironmentScopedForm`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from wagtail.snippets.views.snippets import SnippetViewSet

from ..rules import can_work_in
from .forms import EnvironmentScopedForm

if TYPE_CHECKING:
    # What the mixin is mixed into: a Wagtail view (untyped), i.e. a Django view.
    from django.views import View as _View
else:
    _View = object


class EnvironmentAccessMixin(_View):
    model: type[Model]

    def dispatch(self, request, *args, **kwargs):
        pk = kwargs.get("pk")
        if pk is not None:
            obj = self.model._default_manager.filter(pk=unquote(str(pk))).first()
            if obj is not None and not can_work_in(request.user, obj):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


@functools.cache
def scoped(view_class: type) -> type:
    """``view_class`` refusing objects of other environments (built once)."""
    if issubclass(view_class, EnvironmentAccessMixin):
        return view_class
    return type(view_class.__name__, (EnvironmentAccessMixin, view_class), {})


class EnvironmentScopedViewSet(SnippetViewSet):
    inspect_view_enabled = True
    search_backend_name = None
    search_fields = ["code", "label"]
    list_per_page = 50
    base_form_class = EnvironmentScopedForm

    def construct_view(self, view_class, **kwargs):
        return super().construct_view(scoped(view_class), **kwargs)

    def get_queryset(self, request):
        return self.model._default_manager.for_user(request.user)

    def get_edit_handler(self):
        edit_handler = super().get_edit_handler()
        if edit_handler.base_form_class is None:
            edit_handler.base_form_class = self.base_form_class
        return edit_handler
