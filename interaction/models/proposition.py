import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import EnvironmentScopedQuerySet
from .choices import Channel, PropositionStatus


class Proposition(models.Model):
    """One offer proposed to one contact or visitor in one space by one call.

    Written by every call that stores its propositions, so the table only has
    the indexes its reads need: each index is maintained on every insert. The
    history indexes serve the engine; the offer one, budgets started from the
    table and reports; the environment and date one, reports and the
    dashboard over a period and the history newest first; the category, space
    and campaign foreign keys keep their indexes so that deleting one of those
    does not scan the table (``SET_NULL``).
    """

    id = models.BigAutoField(primary_key=True)
    #: Not indexed: nothing looks propositions up by call, and a random UUID
    #: is the costliest key to add to a B-tree on every insert.
    interaction_id = models.UUIDField(_("interaction"), default=uuid.uuid4)
    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the history indexes start with it
    )
    offer = models.ForeignKey(
        "interaction.Offer",
        verbose_name=_("offer"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="propositions",
        help_text="Null once the offer is deleted; offer_code keeps the history.",
        db_index=False,  # interaction_prop_offer starts with it
    )
    offer_code = models.SlugField(_("offer code"), max_length=50, db_index=False)
    category = models.ForeignKey(
        "interaction.OfferCategory",
        verbose_name=_("category"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The offer's category when proposed, for per-category counts.",
    )
    space = models.ForeignKey(
        "interaction.OfferSpace",
        verbose_name=_("space"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="propositions",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    contact_key = models.CharField(_("contact"), max_length=255, blank=True)
    visitor_id = models.CharField(_("visitor"), max_length=64, blank=True)
    campaign = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: The campaign run that wrote it (batch); null for inbound calls.
    run = models.ForeignKey(
        "interaction.CampaignRun",
        verbose_name=_("campaign run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # interaction_prop_run, partial: inbound rows stay out
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    weight = models.FloatField(_("weight"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PropositionStatus.choices,
        default=PropositionStatus.PROPOSED,
    )
    event_date = models.DateTimeField(_("event date"), default=timezone.now)
    last_modified = models.DateTimeField(_("last modified"), auto_now=True)

    objects = EnvironmentScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("proposition")
        verbose_name_plural = _("propositions")
        ordering = ["-event_date", "rank"]
        indexes = [
            models.Index(
                fields=["environment", "contact_key", "event_date"],
                name="interaction_prop_contact",
            ),
            models.Index(
                fields=["environment", "visitor_id", "event_date"],
                name="interaction_prop_visitor",
            ),
            models.Index(fields=["offer", "event_date"], name="interaction_prop_offer"),
            # Reports and the dashboard over a period (the last 7 days), and
            # the proposition history's newest first, per environment.
            models.Index(
                fields=["environment", "event_date"], name="interaction_prop_env_date"
            ),
            # A run's propositions by contact (export; mark as sent and the
            # next run's replacing read the run's); inbound calls write no entry.
            models.Index(
                fields=["run", "contact_key", "rank"],
                name="interaction_prop_run",
                condition=models.Q(run__isnull=False),
            ),
        ]

    def __str__(self):
        return (
            f"{self.offer_code} → {self.contact_key or self.visitor_id} ({self.status})"
        )
