from django.db import models
from django.utils.translation import gettext_lazy as _


class CapUsage(models.Model):
    """How much of a global capping rule's budget an offer used in one period.

    Taken when propositions are stored, by one conditional statement
    (``used < cap``), so concurrent calls never exceed the budget; the
    ranking reads which counters are used up instead of counting the
    proposition table on every call. See :mod:`interaction.delivery.caps`.
    """

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(
        "interaction.TypologyRule",
        verbose_name=_("rule"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique constraint starts with it
    )
    offer = models.ForeignKey(
        "interaction.Offer",
        verbose_name=_("offer"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    #: The call's channel for a rule counting the same channel only, else "".
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    period_start = models.DateTimeField(_("period start"))
    used = models.PositiveIntegerField(_("used"), default=0)
    #: The rule's quantity when the counter was last taken.
    cap = models.PositiveIntegerField(_("cap"))

    class Meta:
        verbose_name = _("cap usage")
        verbose_name_plural = _("cap usages")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "period_start", "channel", "offer"],
                name="interaction_cap_usage_unique",
            )
        ]
        indexes = [
            # Every call reads the used-up counters of its rules' periods
            # (used >= quantity): without it, every counter of the period,
            # one per offer proposed in it, was read and filtered.
            models.Index(
                fields=["rule", "period_start", "channel", "used"],
                name="interaction_cap_usage_used",
            )
        ]

    def __str__(self):
        return f"{self.rule_id}/{self.offer_id} @ {self.period_start}: {self.used}"
