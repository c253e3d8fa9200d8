"""A campaign's batch runs and their chunks (SPEC §6).

A run computes the propositions of a campaign page for its whole population.
The population is cut into chunks of consecutive primary keys, each chunk an
independent background task written in one transaction: a chunk is ``done``
with all its propositions or has written nothing, so a run resumes by
running its chunks that are not done, and several workers share one run.
See :mod:`interaction.campaigns.runs`.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import EnvironmentScopedQuerySet
from .choices import ChunkStatus, RunStatus

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


class Progress:
    """How far a background job over a population got: a campaign run, a
    simulation (models with these fields)."""

    status: str
    contacts_total: int
    contacts_processed: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None

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


class CampaignRun(Progress, models.Model):
    campaign = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    #: The campaign's environment when the run started (who may see the run).
    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    #: Orders offers of equal weight for each contact (as an inbound call's).
    seed = models.BigIntegerField(_("seed"))
    contact_date = models.DateTimeField(_("contact date"))
    #: What the run reads of its campaign (``CampaignSpec`` as JSON), frozen
    #: when it starts: every chunk works from the same inputs.
    spec = models.JSONField(_("campaign settings"), default=dict)
    chunk_size = models.PositiveIntegerField(_("contacts per chunk"))

    contacts_total = models.PositiveIntegerField(_("contacts"), default=0)
    contacts_processed = models.PositiveIntegerField(_("contacts processed"), default=0)
    contacts_excluded = models.PositiveIntegerField(_("contacts excluded"), default=0)
    propositions_written = models.PositiveIntegerField(
        _("propositions written"), default=0
    )
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    chunks_failed = models.PositiveIntegerField(_("chunks failed"), default=0)

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
    #: When its propositions were marked presented ("Mark as sent").
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    objects = EnvironmentScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign run")
        verbose_name_plural = _("campaign runs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One run at a time per campaign: a run replaces the unsent
            # propositions of the campaign's previous runs.
            models.UniqueConstraint(
                fields=["campaign"],
                condition=Q(status__in=["queued", "running"]),
                name="interaction_one_active_run",
            )
        ]

    def __str__(self):
        return f"Run {self.pk} of campaign {self.campaign_id} ({self.status})"

    def eta(self, now: datetime.datetime | None = None) -> datetime.datetime | None:
        """When the run should end, at the pace of the contacts processed so
        far; ``None`` before the first chunk or once it ended."""
        if not self.active or self.started_at is None:
            return None
        done = self.contacts_processed
        if not done or not self.contacts_total:
            return None
        now = now or timezone.now()
        elapsed = self.elapsed(now)
        left = max(0, self.contacts_total - done)
        return now + elapsed * (left / done)


class CampaignRunChunk(models.Model):
    """Contacts ``pk_from`` to ``pk_to`` (both included) of the run's population."""

    run = models.ForeignKey(
        CampaignRun,
        verbose_name=_("run"),
        on_delete=models.CASCADE,
        related_name="chunks",
        db_index=False,  # the unique constraint starts with it
    )
    position = models.PositiveIntegerField(_("position"))
    #: The first and last primary key of the chunk, as text (any key type).
    pk_from = models.CharField(_("first key"), max_length=255)
    pk_to = models.CharField(_("last key"), max_length=255)
    #: How many contacts of the population the chunk held when planned.
    contacts_planned = models.PositiveIntegerField(_("contacts planned"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ChunkStatus.choices,
        default=ChunkStatus.PENDING,
    )
    contacts_processed = models.PositiveIntegerField(_("contacts processed"), default=0)
    contacts_excluded = models.PositiveIntegerField(_("contacts excluded"), default=0)
    propositions_written = models.PositiveIntegerField(
        _("propositions written"), default=0
    )
    #: How many times a worker took the chunk (a failed try counts).
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    worker = models.CharField(_("worker"), max_length=128, blank=True)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign run chunk")
        verbose_name_plural = _("campaign run chunks")
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "position"], name="interaction_run_chunk_unique"
            )
        ]

    def __str__(self):
        return f"Chunk {self.position} of run {self.run_id} ({self.status})"
