from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.search import index

from ..engine.conditions import NUMBER, TEXT, FieldSpec
from ..targeting.validation import check_condition
from .base import EnvironmentScopedQuerySet, condition_field
from .choices import Channel, CountedOffers, CountedStatuses

#: Offer fields a typology rule's "applies to" condition can compare.
OFFER_CONDITION_FIELDS = {
    "code": FieldSpec("code", TEXT),
    "label": FieldSpec("label", TEXT),
    "category": FieldSpec("category", TEXT),
    "category_path": FieldSpec("category_path", TEXT),
    "themes": FieldSpec("themes", TEXT),
    "id": FieldSpec("id", NUMBER),
}


class TypologyRule(index.Indexed, models.Model):
    """A presentation rule: excludes offers based on proposition history."""

    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.CASCADE,
        related_name="typology_rules",
    )
    code = models.SlugField(_("code"), max_length=50)
    label = models.CharField(_("label"), max_length=255)
    active = models.BooleanField(_("active"), default=True)
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=Channel.choices,
        blank=True,
        help_text=_("Apply only to calls on this channel. Empty: every channel."),
    )
    offer_condition = condition_field(
        _("applies to offers matching"),
        help_text=_(
            "The offers the rule counts and limits: add conditions on their "
            "code, label, category, category path, themes or id with "
            "“+ Condition”. Empty: every offer."
        ),
        source="environment",
        context=False,
        offer=True,
    )
    contact_condition = condition_field(
        _("applies to contacts matching"),
        help_text=_("Empty: every contact. Otherwise a condition on the contact."),
        source="environment",
        context=False,
    )
    period_days = models.PositiveIntegerField(_("period (days)"), default=1)
    period_hours = models.PositiveIntegerField(_("period (hours)"), default=0)
    quantity = models.PositiveIntegerField(
        _("maximum quantity"),
        default=1,
        help_text=_("The offer is excluded once the counted history reaches this."),
    )
    same_channel_only = models.BooleanField(
        _("count the same channel only"),
        default=False,
        help_text=_("Count only propositions made on the channel of the call."),
    )
    counted_offers = models.CharField(
        _("offers counted"),
        max_length=20,
        choices=CountedOffers.choices,
        default=CountedOffers.SAME_OFFER,
    )
    counted_statuses = models.CharField(
        _("statuses counted"),
        max_length=20,
        choices=CountedStatuses.choices,
        default=CountedStatuses.ANY,
    )
    global_capping = models.BooleanField(
        _("global capping"),
        default=False,
        help_text=_(
            "Count every contact's propositions of the offer (a budget, e.g. at most "
            "1,000 a day) instead of this contact's history. The budget starts "
            "again with each period: periods follow each other from midnight UTC."
        ),
    )

    objects = EnvironmentScopedQuerySet.as_manager()

    search_fields = [
        index.SearchField("code"),
        index.SearchField("label"),
        index.AutocompleteField("label"),
        index.FilterField("environment"),
    ]

    class Meta:
        verbose_name = _("typology rule")
        verbose_name_plural = _("typology rules")
        ordering = ["environment", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "code"], name="interaction_rule_code_unique"
            )
        ]

    def __str__(self):
        return self.label

    def clean(self):
        errors = {}
        if self.period_days == 0 and self.period_hours == 0:
            errors["period_hours"] = [_("The period must last at least one hour.")]
        if self.quantity == 0:
            errors["quantity"] = [_("The quantity must be at least 1.")]
        if self.environment_id:
            check_condition(
                errors,
                "offer_condition",
                self.offer_condition,
                self.environment.condition_schema(
                    allow_context=False, offer_fields=OFFER_CONDITION_FIELDS
                ),
            )
            check_condition(
                errors,
                "contact_condition",
                self.contact_condition,
                self.environment.condition_schema(allow_context=False),
            )
        if errors:
            raise ValidationError(errors)
