"""Simulations (SPEC §6): a campaign's inputs run through the batch engine,
nothing stored but the figures.

A simulation ranks a population as a campaign run would (same engine, same
chunks, the global caps' budgets as they stand, shared across the
population) on the live catalogue or on the latest revision of every offer,
category and space (``include_drafts``), and keeps only its results: no
proposition, no cap counter, no history is written. Past simulations are
kept, to compare what a catalogue change moves. See
:mod:`interaction.simulation`.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..engine.call import MAX_COUNT
from .base import EnvironmentScopedQuerySet, condition_field
from .job import PopulationJob


class Simulation(PopulationJob):
    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    name = models.CharField(
        _("name"),
        max_length=255,
        blank=True,
        help_text=_("Optional, to find it again: e.g. “before the summer offers”."),
    )
    space = models.ForeignKey(
        "interaction.OfferSpace",
        verbose_name=_("offer space"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    category = models.ForeignKey(
        "interaction.OfferCategory",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Only offers of this category and its subcategories. Empty: the "
            "whole environment."
        ),
    )
    themes = models.CharField(
        _("themes"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated: only offers of any of these themes."),
    )
    population = condition_field(
        _("target population"),
        help_text=_(
            "The contacts simulated: add conditions on their fields with "
            "“+ Condition”, combine them in groups (all of, any of, not). Empty: "
            "every contact."
        ),
        source="space",
        context=False,
    )
    count = models.PositiveSmallIntegerField(
        _("offers per contact"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_COUNT)],
    )
    exclude_fewer = models.BooleanField(
        _("exclude contacts who get fewer offers"), default=False
    )
    contact_date = models.DateTimeField(
        _("contact date"),
        help_text=_("The date offers, weights and rules are judged at."),
    )
    include_drafts = models.BooleanField(
        _("include drafts"),
        default=False,
        help_text=_(
            "Use the latest revision of every offer, category and space (drafts "
            "and changes awaiting approval), not only what is live."
        ),
    )
    #: Orders each contact's offers of equal weight, as a run's seed.
    seed = models.BigIntegerField(_("seed"))
    #: The inputs as the task reads them (codes, not rows: a space or
    #: category deleted later leaves the simulation readable).
    spec = models.JSONField(_("settings"), default=dict)

    #: The figures (:mod:`interaction.simulation.aggregation`), once done.
    results = models.JSONField(_("results"), default=dict)

    objects = EnvironmentScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("simulation")
        verbose_name_plural = _("simulations")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name or f"Simulation {self.pk}"
