"""The audit log of the catalogue, readable only within the reader's environments.

Wagtail's site history report shows the entries of every model a user holds
any permission on, whatever the object: offer managers of environment A would
read B's offer labels and actions there. Catalogue objects log here instead,
with the environment they belonged to when the entry was written.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.models.audit_log import BaseLogEntry, ModelLogEntryManager


class InteractionLogEntryManager(ModelLogEntryManager):
    def log_action(self, instance, action, **kwargs):
        from ..rules import environment_id_of

        kwargs.setdefault("environment_id", environment_id_of(instance))
        return super().log_action(instance, action, **kwargs)

    def viewable_by_user(self, user):
        """Entries of the types the user may view, in the user's environments.

        Not Wagtail's per-type check: it caches its answer on the user for
        whichever log model asks first, so it would answer for another table.
        """
        if user.is_superuser:
            return self.all()
        from ..rules import environment_ids_for

        viewable = []
        for content_type_id in self.values_list(
            "content_type_id", flat=True
        ).distinct():
            content_type = ContentType.objects.get_for_id(content_type_id)
            if user.has_perm(f"{content_type.app_label}.view_{content_type.model}"):
                viewable.append(content_type_id)
        return self.filter(
            content_type_id__in=viewable,
            environment_id__in=environment_ids_for(user),
        )


class InteractionLogEntry(BaseLogEntry, models.Model):
    object_id = models.CharField(max_length=255, db_index=True)
    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = InteractionLogEntryManager()

    class Meta(BaseLogEntry.Meta):
        ordering = ["-timestamp", "-id"]
        verbose_name = _("catalogue log entry")
        verbose_name_plural = _("catalogue log entries")

    def __str__(self):
        return f"{self.action} on {self.label}"
