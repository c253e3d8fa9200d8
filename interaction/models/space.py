from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Orderable,
    RevisionMixin,
    WorkflowMixin,
)
from wagtail.search import index

from ..engine.call import MAX_COUNT
from ..engine.catalogue import split_themes
from ..targeting.fields import targetable_fields
from .base import CatalogueQuerySet
from .choices import Channel, ContentField, PropositionStatus


def split_fields(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class OfferSpace(
    WorkflowMixin,
    DraftStateMixin,
    LockableMixin,
    RevisionMixin,
    index.Indexed,
    ClusterableModel,
    # Already a base through ClusterableModel (same MRO); explicit so that
    # mypy's Django plugin, which cannot see modelcluster's types, knows a model.
    models.Model,
):
    """A place on a channel where offers are shown, with its rendering."""

    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.PROTECT,
        related_name="spaces",
    )
    code = models.SlugField(
        _("code"), max_length=50, unique=True, help_text=_("Unique on the site.")
    )
    label = models.CharField(_("label"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.WEB
    )
    real_time = models.BooleanField(
        _("real-time calls allowed"),
        default=True,
        help_text=_(
            "Web pages, the API and template tags may ask this space for offers. "
            "Batch campaigns are always allowed."
        ),
    )
    html_template = models.TextField(
        _("HTML rendering"),
        blank=True,
        help_text=_(
            "Django template syntax with “offer”, “proposition” and “contact”. "
            "Leave empty for the default rendering."
        ),
    )
    text_template = models.TextField(
        _("text rendering"),
        blank=True,
        help_text=_("Plain-text rendering, same context. Empty: the default one."),
    )
    max_offers = models.PositiveSmallIntegerField(
        _("maximum offers per call"),
        default=3,
        help_text=_("A call never gets more offers than this."),
    )
    identification_fields = models.CharField(
        _("identification fields"),
        max_length=255,
        default="pk",
        blank=True,
        help_text=_(
            "Contact fields that identify a contact in real-time calls, separated by "
            "commas (default: pk). Several fields are joined with “|” in the id."
        ),
    )
    fallback_space = models.ForeignKey(
        "self",
        verbose_name=_("fallback anonymous space"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Used when no contact is identified. Must be an anonymous space."),
    )
    store_propositions = models.BooleanField(_("store propositions"), default=True)
    initial_status = models.CharField(
        _("initial status"),
        max_length=20,
        choices=PropositionStatus.choices,
        default=PropositionStatus.PROPOSED,
    )
    accepted_status = models.CharField(
        _("status on acceptance"),
        max_length=20,
        choices=PropositionStatus.choices,
        default=PropositionStatus.ACCEPTED,
    )
    default_category = models.ForeignKey(
        "interaction.OfferCategory",
        verbose_name=_("default category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Used when a call asks for no category and no theme."),
    )
    default_themes = models.CharField(
        _("default themes"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated; used when a call asks for no category or theme."),
    )

    objects = CatalogueQuerySet.as_manager()

    search_fields = [
        index.SearchField("code"),
        index.SearchField("label"),
        index.AutocompleteField("label"),
        index.FilterField("environment"),
        index.FilterField("channel"),
        index.FilterField("live"),
    ]

    class Meta:
        verbose_name = _("offer space")
        verbose_name_plural = _("offer spaces")
        ordering = ["code"]

    def __str__(self):
        return f"{self.label} ({self.get_channel_display()})"

    @property
    def default_theme_list(self) -> tuple[str, ...]:
        return split_themes(self.default_themes)

    @property
    def identification_field_list(self) -> list[str]:
        return split_fields(self.identification_fields) or ["pk"]

    def required_content_fields(self) -> list[str]:
        return [row.field for row in self.content_fields.all() if row.required]

    @property
    def offer_limit(self) -> int:
        """The most offers a call, a campaign or a simulation gets from this
        space: :attr:`max_offers`, within the engine's
        :data:`~interaction.engine.call.MAX_COUNT` (a row saved without
        :meth:`clean` may hold more)."""
        return min(self.max_offers, MAX_COUNT)

    def too_many_offers(self) -> str:
        """Why a campaign or a simulation asking more than :attr:`offer_limit`
        offers per contact is refused."""
        return ngettext(
            "This space shows at most %(max)d offer to a contact.",
            "This space shows at most %(max)d offers to a contact.",
            self.offer_limit,
        ) % {"max": self.offer_limit}

    def clean(self):
        from ..delivery.rendering import template_errors

        errors: dict[str, list] = {}
        # The sandbox's refusals (tags, filters, bounds) and a sample render.
        errors.update(template_errors(self))
        if self.max_offers is not None and not 1 <= self.max_offers <= MAX_COUNT:
            errors["max_offers"] = [
                _("Between 1 and %(max)d offers per call.") % {"max": MAX_COUNT}
            ]
        if self.environment_id:
            environment = self.environment
            if environment.dimension_model:
                known = targetable_fields(environment.dimension_model)
                unknown = [
                    name
                    for name in split_fields(self.identification_fields)
                    if name not in known
                ]
                if unknown:
                    errors["identification_fields"] = [
                        _("Unknown field(s) on %(model)s: %(fields)s.")
                        % {
                            "model": environment.dimension_model._meta.verbose_name,
                            "fields": ", ".join(unknown),
                        }
                    ]
            if self.fallback_space_id:
                if self.fallback_space_id == self.pk:
                    errors["fallback_space"] = [
                        _("A space cannot fall back on itself.")
                    ]
                elif (
                    self.fallback_space is not None
                    and not self.fallback_space.environment.is_anonymous
                ):
                    errors["fallback_space"] = [
                        _("The fallback space must belong to an anonymous environment.")
                    ]
            if (
                self.default_category_id
                and self.default_category is not None
                and self.default_category.environment_id != self.environment_id
            ):
                errors["default_category"] = [
                    _("The default category belongs to another environment.")
                ]
        if errors:
            raise ValidationError(errors)


class SpaceContentField(Orderable, models.Model):  # models.Model: as on OfferSpace
    """A content field a space shows, in order, and whether offers must fill it."""

    space = ParentalKey(
        OfferSpace, on_delete=models.CASCADE, related_name="content_fields"
    )
    field = models.CharField(
        _("content field"), max_length=50, choices=ContentField.choices
    )
    required = models.BooleanField(
        _("required"),
        default=False,
        help_text=_("Offers published on this space must fill this field."),
    )

    class Meta(Orderable.Meta):
        verbose_name = _("content field")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "field"], name="interaction_space_field_unique"
            )
        ]

    def __str__(self):
        return self.get_field_display()
