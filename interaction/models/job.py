"""What a background job over a population records: a campaign run, a
simulation. One abstract model, so both show and refresh their progress the
same way (:mod:`interaction.views.progress`)."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import RunStatus

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


class PopulationJob(models.Model):
    status = models.CharField(
        _("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    contacts_total = models.PositiveIntegerField(_("contacts"), default=0)
    contacts_processed = models.PositiveIntegerField(_("contacts processed"), default=0)
    error = models.TextField(_("error"), blank=True)

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def progress(self) -> float:
        """The share of contacts processed, 0 to 1."""
        if self.status == RunStatus.DONE:
            return 1.0
        if not self.contacts_total:
            return 0.0
        return min(1.0, self.contacts_processed / self.contacts_total)

    def elapsed(self, now: datetime.datetime | None = None) -> datetime.timedelta:
        if self.started_at is None:
            return datetime.timedelta(0)
        end = self.finished_at or now or timezone.now()
        return max(datetime.timedelta(0), end - self.started_at)

    def eta(self, now: datetime.datetime | None = None) -> datetime.datetime | None:
        """When the job should end, at the pace of the contacts processed so
        far; ``None`` before the first contacts or once it ended."""
        if not self.active or self.started_at is None:
            return None
        done = self.contacts_processed
        if not done or not self.contacts_total:
            return None
        now = now or timezone.now()
        left = max(0, self.contacts_total - done)
        return now + self.elapsed(now) * (left / done)
