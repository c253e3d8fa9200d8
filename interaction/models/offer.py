import logging

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.fields import RichTextField
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Orderable,
    PreviewableMixin,
    RevisionMixin,
    WorkflowMixin,
)
from wagtail.search import index

from ..delivery.sanitise import is_http_url, sanitise_stored_html
from ..targeting.validation import check_condition, check_formula
from .base import CatalogueQuerySet, check_dates, condition_field

logger = logging.getLogger(__name__)


class Offer(
    PreviewableMixin,
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
    """An offer: eligibility, weights and the content shown in its spaces."""

    category = models.ForeignKey(
        "interaction.OfferCategory",
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="offers",
    )
    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.PROTECT,
        related_name="offers",
        editable=False,
        help_text="The category's environment: per-environment codes and access.",
    )
    code = models.SlugField(
        _("code"), max_length=50, help_text=_("Unique within the environment.")
    )
    label = models.CharField(_("label"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    start_date = models.DateTimeField(
        _("eligible from"),
        null=True,
        blank=True,
        help_text=_("The offer is proposed only from this date."),
    )
    end_date = models.DateTimeField(
        _("eligible until"),
        null=True,
        blank=True,
        help_text=_("The offer is proposed only until this date."),
    )
    target_filter = condition_field(_("target filter"), source="category")
    spaces = ParentalManyToManyField(
        "interaction.OfferSpace",
        verbose_name=_("spaces"),
        blank=True,
        related_name="offers",
        help_text=_("Where the offer is shown once live."),
    )
    title = models.CharField(_("title"), max_length=255, blank=True)
    destination_url = models.URLField(
        _("destination URL"),
        max_length=1000,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where a click leads (http or https)."),
    )
    image = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The editor offers only what sanitisation keeps (no media embeds).
    html_content = RichTextField(
        _("HTML content"),
        blank=True,
        features=[
            "h2",
            "h3",
            "h4",
            "bold",
            "italic",
            "ol",
            "ul",
            "hr",
            "link",
            "document-link",
            "image",
        ],
    )
    text_content = models.TextField(_("text content"), blank=True)

    objects = CatalogueQuerySet.as_manager()

    search_fields = [
        index.SearchField("code"),
        index.SearchField("label"),
        index.SearchField("title"),
        index.AutocompleteField("label"),
        index.AutocompleteField("code"),
        index.FilterField("environment"),
        index.FilterField("category"),
        index.FilterField("live"),
    ]

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["environment", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "code"], name="interaction_offer_code_unique"
            )
        ]

    def __str__(self):
        return self.label

    def content_value(self, field_name: str):
        if field_name == "image":
            return self.image
        return getattr(self, field_name)

    def missing_content(self, spaces=None, value_of=None) -> dict:
        """Per space, the required content fields this offer leaves empty.

        ``value_of`` reads a field's value; by default the offer's own, a form
        passes its cleaned data.
        """
        spaces = self.spaces.all() if spaces is None else spaces
        value_of = value_of or self.content_value
        missing = {}
        for space in spaces:
            empty = [
                row.get_field_display()
                for row in space.content_fields.all()
                if row.required and not value_of(row.field)
            ]
            if empty:
                missing[space] = empty
        return missing

    def publishing_errors(self, spaces=None, value_of=None) -> list[str]:
        return [
            _("“%(space)s” requires: %(fields)s.")
            % {"space": space.label, "fields": ", ".join(str(f) for f in fields)}
            for space, fields in self.missing_content(spaces, value_of).items()
        ]

    def publish(self, revision, *args, **kwargs):
        """Refuse to publish a version that lacks a space's required content."""
        errors = revision.as_object().publishing_errors()
        if errors:
            raise ValidationError(
                [_("This offer cannot be published: ") + " ".join(errors)]
            )
        return super().publish(revision, *args, **kwargs)

    def clean(self):
        errors: dict[str, list] = {}
        self.html_content = sanitise_stored_html(self.html_content)
        check_dates(errors, self.start_date, self.end_date)
        if self.category_id:
            environment = self.category.environment
            self.environment = environment
            duplicate = (
                Offer.objects.filter(environment=environment, code=self.code)
                .exclude(pk=self.pk)
                .exists()
            )
            if self.code and duplicate:
                errors["code"] = [_("Another offer of this environment has this code.")]
            check_condition(
                errors,
                "target_filter",
                self.target_filter,
                environment.condition_schema(),
            )
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        """Also sanitises the content (:func:`make_content_safe`, run on every
        save path, fixtures included, by a ``pre_save`` receiver)."""
        if self.category_id:
            self.environment_id = self.category.environment_id
        super().save(*args, **kwargs)

    #: The destination URL as loaded from the database (see make_content_safe).
    _stored_destination_url: str | None = None

    @classmethod
    def from_db(cls, db, field_names, values):
        offer = super().from_db(db, field_names, values)
        offer._stored_destination_url = offer.__dict__.get("destination_url")
        return offer

    def make_content_safe(self, update_fields=None) -> None:
        """Sanitise the HTML content; refuse a destination that is not http(s).

        Whatever writes the offer (admin form, code, import): stored HTML never
        holds a script, an event handler or a ``javascript:`` link. A bad URL
        already in the database (raw SQL) is dropped, so the offer can still be
        saved, e.g. unpublished.
        """
        fields = None if update_fields is None else set(update_fields)
        if fields is None or "html_content" in fields:
            self.html_content = sanitise_stored_html(self.html_content)
        if (
            (fields is None or "destination_url" in fields)
            and self.destination_url
            and not is_http_url(self.destination_url)
        ):
            if self.destination_url == getattr(self, "_stored_destination_url", None):
                logger.warning(
                    "Offer “%s”: its destination URL is not http(s); dropped.",
                    self.code,
                )
                self.destination_url = ""
                return
            raise ValidationError(
                {
                    "destination_url": [
                        _("The destination URL must be an http or https URL.")
                    ]
                }
            )

    # Previews: one mode per space the offer is published on.

    @property
    def preview_modes(self):
        return [("", _("All spaces"))] + [
            (space.code, space.label) for space in self.spaces.all()
        ]

    def get_preview_template(self, request, mode_name):
        return "interaction/previews/offer.html"

    def get_preview_context(self, request, mode_name):
        from ..delivery.rendering import render_offer

        context = super().get_preview_context(request, mode_name)
        spaces = [
            space
            for space in self.spaces.all()
            if not mode_name or space.code == mode_name
        ]
        context["renderings"] = [
            (space, render_offer(space, self), self.missing_content([space]).get(space))
            for space in spaces
        ]
        context["weight_check"] = self.preview_weight_check(request, spaces)
        return context

    def preview_weight_check(self, request, spaces):
        """The weight this offer, as edited, gives the contact chosen for its
        environment's previews (:mod:`interaction.views.preview_contact`)."""
        from ..delivery.weight_check import chosen_contact, weight_check

        if not self.category_id:
            return None
        environment = self.category.environment
        return weight_check(self, spaces, chosen_contact(request, environment))


class OfferWeight(Orderable, models.Model):  # models.Model: as on Offer
    """A weight row: the highest applicable row gives the offer's weight."""

    offer = ParentalKey(Offer, on_delete=models.CASCADE, related_name="weights")
    label = models.CharField(_("label"), max_length=255, blank=True)
    value = models.CharField(
        _("value"),
        max_length=500,
        default="1",
        help_text=_(
            "A number, or a formula over contact fields and call context, e.g. "
            "“10 + loyalty_points / 100” or “context.basket * 0.1”."
        ),
    )
    start_date = models.DateTimeField(_("applies from"), null=True, blank=True)
    end_date = models.DateTimeField(_("applies until"), null=True, blank=True)
    space = models.ForeignKey(
        "interaction.OfferSpace",
        verbose_name=_("only in space"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    target_filter = condition_field(
        _("only for contacts matching"),
        help_text=_(
            "Only contacts matching this condition get this row's weight. Empty: "
            "every contact."
        ),
        source="category",
    )

    class Meta(Orderable.Meta):
        verbose_name = _("weight")
        verbose_name_plural = _("weights")

    def __str__(self):
        return self.label or self.value

    def validation_errors(self, environment) -> dict:
        errors: dict[str, list] = {}
        check_dates(errors, self.start_date, self.end_date)
        schema = environment.condition_schema()
        check_formula(errors, "value", self.value, schema)
        check_condition(errors, "target_filter", self.target_filter, schema)
        if (
            self.space_id
            and self.space is not None
            and self.space.environment_id != environment.pk
        ):
            errors["space"] = [_("This space belongs to another environment.")]
        return errors

    def clean(self):
        offer = getattr(self, "offer", None)
        category = getattr(offer, "category", None) if offer else None
        if category is None:
            return
        errors = self.validation_errors(category.environment)
        if errors:
            raise ValidationError(errors)


@receiver(pre_save, sender=Offer, dispatch_uid="interaction.offer.safe_content")
def _offer_content_safe(sender, instance, update_fields=None, **kwargs):
    instance.make_content_safe(update_fields)
