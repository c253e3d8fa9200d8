"""What finishing the approval workflow does (``WAGTAIL_FINISH_WORKFLOW_ACTION``).

Approvers approve or reject; they hold no publish permission, so they can
neither publish nor unpublish outside the workflow. The final approval then
publishes the catalogue object on their behalf (the audit log still names
them). Other content (pages) keeps Wagtail's default: the approver publishes
with their own permissions.

Wagtail imports this module while it loads ``wagtail.models``, so it must not
import Wagtail's models at module level.
"""

APP_LABEL = "interaction"


def publish_approved(workflow_state, user=None):
    content = workflow_state.content_object
    if content._meta.app_label != APP_LABEL:
        from wagtail.workflows import publish_workflow_state

        return publish_workflow_state(workflow_state, user=user)
    content.get_latest_revision().publish(user=user, skip_permission_checks=True)
