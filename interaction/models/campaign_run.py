"""A campaign's batch runs and their chunks (SPEC §6).

A run computes the propositions of a campaign page for its whole population.
The population is cut into chunks of consecutive primary keys, each chunk an
independent background task written in one transaction: a chunk is ``done``
with all its propositions or has written nothing, so a run resumes by
running its chunks that are not done, and several workers share one run.
See :mod:`interaction.campaigns.runs`.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import EnvironmentScopedQuerySet
from .choices import ChunkStatus
from .job import PopulationJob


class CampaignRun(PopulationJob):
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
    #: Orders offers of equal weight for each contact (as an inbound call's).
    seed = models.BigIntegerField(_("seed"))
    contact_date = models.DateTimeField(_("contact date"))
    #: What the run reads of its campaign (``CampaignSpec`` as JSON), frozen
    #: when it starts: every chunk works from the same inputs.
    spec = models.JSONField(_("campaign settings"), default=dict)
    chunk_size = models.PositiveIntegerField(_("contacts per chunk"))

    contacts_excluded = models.PositiveIntegerField(_("contacts excluded"), default=0)
    propositions_written = models.PositiveIntegerField(
        _("propositions written"), default=0
    )
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    chunks_failed = models.PositiveIntegerField(_("chunks failed"), default=0)

    #: When its propositions were marked presented ("Mark as sent").
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

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
