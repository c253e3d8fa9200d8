"""Snippet viewsets whose every object view is limited to the user's environments.

Wagtail's admin views check model permissions only; the object views here also
refuse objects of environments the user may not work in (SPEC §1). The check
reads the database row, so a draft cannot move an object out of reach.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from wagtail.snippets.views import snippets as snippet_views
from wagtail.snippets.views.snippets import SnippetViewSet

from ..access import can_work_in
from ..forms import EnvironmentScopedForm


class EnvironmentAccessMixin:
    def dispatch(self, request, *args, **kwargs):
        pk = kwargs.get("pk")
        if pk is not None:
            obj = self.model._default_manager.filter(pk=unquote(str(pk))).first()
            if obj is not None and not can_work_in(request.user, obj):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def scoped(view_class):
    return type(view_class.__name__, (EnvironmentAccessMixin, view_class), {})


class EnvironmentScopedViewSet(SnippetViewSet):
    inspect_view_enabled = True
    search_backend_name = None
    search_fields = ["code", "label"]
    list_per_page = 50
    base_form_class = EnvironmentScopedForm

    edit_view_class = scoped(snippet_views.EditView)
    delete_view_class = scoped(snippet_views.DeleteView)
    copy_view_class = scoped(snippet_views.CopyView)
    usage_view_class = scoped(snippet_views.UsageView)
    history_view_class = scoped(snippet_views.HistoryView)
    inspect_view_class = scoped(snippet_views.InspectView)
    revisions_view_class = scoped(snippet_views.PreviewRevisionView)
    revisions_compare_view_class = scoped(snippet_views.RevisionsCompareView)
    revisions_unschedule_view_class = scoped(snippet_views.RevisionsUnscheduleView)
    unpublish_view_class = scoped(snippet_views.UnpublishView)
    preview_on_edit_view_class = scoped(snippet_views.PreviewOnEditView)
    lock_view_class = scoped(snippet_views.LockView)
    unlock_view_class = scoped(snippet_views.UnlockView)
    workflow_action_view_class = scoped(snippet_views.WorkflowActionView)
    collect_workflow_action_data_view_class = scoped(
        snippet_views.CollectWorkflowActionDataView
    )
    confirm_workflow_cancellation_view_class = scoped(
        snippet_views.ConfirmWorkflowCancellationView
    )
    workflow_preview_view_class = scoped(snippet_views.WorkflowPreviewView)
    workflow_history_view_class = scoped(snippet_views.WorkflowHistoryView)
    workflow_history_detail_view_class = scoped(snippet_views.WorkflowHistoryDetailView)

    def get_queryset(self, request):
        return self.model._default_manager.for_user(request.user)

    def get_edit_handler(self):
        edit_handler = super().get_edit_handler()
        if edit_handler.base_form_class is None:
            edit_handler.base_form_class = self.base_form_class
        return edit_handler
