"""The audit-log actions of a catalogue import (Wagtail's site history and
each object's history show them), registered by ``wagtail_hooks``.

Every entry of one import shares one log-entry ``uuid`` (Wagtail's
``LogContext``) and the importing user (none for the command without
``--user``); the environment gets a summary entry (:data:`IMPORT`).
"""

from django.utils.translation import gettext_lazy as _

IMPORT = "interaction.import"
CREATE = "interaction.import.create"
EDIT = "interaction.import.edit"
PUBLISH = "interaction.import.publish"


def register_log_actions(actions) -> None:
    actions.register_action(
        IMPORT, _("Catalogue import"), _("Catalogue imported from a file")
    )
    actions.register_action(CREATE, _("Create (import)"), _("Created by an import"))
    actions.register_action(
        EDIT, _("Save draft (import)"), _("Draft saved by an import")
    )
    actions.register_action(PUBLISH, _("Publish (import)"), _("Published by an import"))
