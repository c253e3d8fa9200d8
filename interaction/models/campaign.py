"""Campaign pages (SPEC §6): what a delivery manager sends, to whom, through
which space, and the delivery's content.

A campaign is a Wagtail page under the one campaigns index (a page at the
root, outside every site: campaigns are deliveries, not web pages). Its
settings are what a batch run reads (:meth:`CampaignPage.spec`), and its body
is rendered for each contact with that contact's offers
(:meth:`CampaignPage.render_for`). A campaign only references offers: their
content is edited on the offers, never from a campaign.

Who may work on campaigns: the groups holding page permissions on the
campaigns index (Delivery managers and Interaction administrators, see
:func:`interaction.roles.sync_campaign_permissions`), and only in the
environments they work in (:class:`CampaignPermissionTester`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.fields import StreamField
from wagtail.models import Page, PagePermissionTester

from ..campaigns.blocks import body_blocks
from ..campaigns.forms import CampaignPageForm
from ..campaigns.spec import CampaignSpec
from ..engine.call import MAX_COUNT
from ..engine.catalogue import split_themes
from ..targeting.validation import check_condition
from .base import condition_field


class CampaignPermissionTester(PagePermissionTester):
    """Page permissions on the campaigns index and its campaigns: only grants
    held on the index or below count (a group's grant on the root gives
    nothing here), and only in the user's environments (a campaign of an
    environment the user does not work in allows nothing)."""

    def __init__(self, user, page):
        super().__init__(user, page)
        if not self.user.is_active or self.user.is_superuser:
            return
        from ..rules import environment_ids_for

        index_path = (
            page.path
            if isinstance(page, CampaignIndexPage)
            else page.path[: -page.steplen]
        )
        self.permissions = {
            perm.permission.codename.rsplit("_", maxsplit=1)[0]
            for perm in self.permission_policy.get_cached_permissions_for_user(user)
            if page.path.startswith(perm.page.path)
            and perm.page.path.startswith(index_path)
        }
        # The row's environment, not a draft's: a draft cannot move a campaign
        # out of reach.
        environment_id = (
            CampaignPage.objects.filter(pk=page.pk)
            .values_list("environment_id", flat=True)
            .first()
            if isinstance(page, CampaignPage) and page.pk
            else None
        )
        if environment_id is not None and environment_id not in environment_ids_for(
            user
        ):
            self.permissions = set()


# models.Model: already a base through Page (same MRO); explicit so that mypy's
# Django plugin, which cannot see Wagtail's types, knows a model.
class CampaignIndexPage(Page, models.Model):
    """Where campaign pages live: one, at the root of the page tree."""

    # Wagtail's PageManager, which mypy cannot see.
    objects: ClassVar[models.Manager[CampaignIndexPage]]

    max_count = 1
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["interaction.CampaignPage"]

    content_panels = Page.content_panels
    promote_panels = [FieldPanel("slug")]

    class Meta:
        verbose_name = _("campaigns index")
        verbose_name_plural = _("campaigns indexes")

    def __str__(self):
        return self.title

    @classmethod
    def can_create_at(cls, parent):
        # At the root only: the grants that protect it are moved off the root
        # (see interaction.roles.sync_campaign_permissions).
        return parent.is_root() and super().can_create_at(parent)

    def permissions_for_user(self, user):
        return CampaignPermissionTester(user, self)

    def serve(self, request, *args, **kwargs):
        raise Http404  # not a web page

    def get_url_parts(self, request=None):
        return None


class CampaignPage(Page, models.Model):  # models.Model: see CampaignIndexPage
    """A campaign: its population, space and offers, and its delivery content."""

    parent_page_types = ["interaction.CampaignIndexPage"]
    subpage_types: list[str] = []
    objects: ClassVar[models.Manager[CampaignPage]]  # as on CampaignIndexPage
    _default_manager: ClassVar[models.Manager[CampaignPage]]

    environment = models.ForeignKey(
        "interaction.Environment",
        verbose_name=_("environment"),
        on_delete=models.PROTECT,
        related_name="campaign_pages",
        editable=False,
        help_text="The space's environment: who may work on the campaign.",
    )
    space = models.ForeignKey(
        "interaction.OfferSpace",
        verbose_name=_("offer space"),
        on_delete=models.PROTECT,
        related_name="campaign_pages",
        limit_choices_to={"live": True},
        help_text=_(
            "The space whose offers, rules and rendering the campaign uses "
            "(batch campaigns may use any live space)."
        ),
    )
    population = condition_field(
        _("target population"),
        help_text=_(
            "The contacts the campaign runs for: add conditions on their fields "
            "with “+ Condition”, combine them in groups (all of, any of, not). "
            "Empty: every contact."
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
        _("exclude contacts who get fewer offers"),
        default=False,
        help_text=_(
            "Leave out the contacts who would get fewer offers than the number "
            "per contact."
        ),
    )
    category = models.ForeignKey(
        "interaction.OfferCategory",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"live": True},
        help_text=_("Only offers of this category and its subcategories."),
    )
    themes = models.CharField(
        _("themes"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated: only offers of any of these themes."),
    )
    contact_date = models.DateTimeField(
        _("contact date"),
        null=True,
        blank=True,
        help_text=_(
            "The date offers, weights and rules are judged at. Empty: when the run "
            "starts."
        ),
    )
    offers = ParentalManyToManyField(
        "interaction.Offer",
        verbose_name=_("explicit offers"),
        blank=True,
        related_name="campaign_pages",
        limit_choices_to={"live": True},
        help_text=_(
            "Optional. Only these live offers, without arbitration (no maximum); "
            "eligibility and typology rules still apply. Empty: the engine "
            "chooses among the space's offers."
        ),
    )
    body = StreamField(
        body_blocks(),
        blank=True,
        verbose_name=_("delivery content"),
        help_text=_(
            "What each contact receives. “The contact’s offer at rank k” is "
            "rendered by the space for each contact."
        ),
    )
    preview_contact = models.CharField(
        _("preview for contact"),
        max_length=255,
        blank=True,
        help_text=_(
            "A contact's id (as in the export): the preview shows the content "
            "with this contact's offers. Empty: placeholders."
        ),
    )

    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    FieldPanel(
                        "title",
                        help_text=_("The campaign's name, as the admin shows it."),
                    ),
                    FieldPanel("space", widget=forms.Select),
                    FieldPanel("population"),
                    FieldRowPanel([FieldPanel("count"), FieldPanel("exclude_fewer")]),
                    MultiFieldPanel(
                        [
                            FieldRowPanel(
                                [
                                    FieldPanel("category", widget=forms.Select),
                                    FieldPanel("themes"),
                                ]
                            )
                        ],
                        heading=_("Scope"),
                    ),
                    FieldPanel("contact_date"),
                    FieldPanel("offers", widget=forms.CheckboxSelectMultiple),
                ],
                heading=_("Campaign"),
            ),
            ObjectList(
                [FieldPanel("body"), FieldPanel("preview_contact")],
                heading=_("Delivery content"),
            ),
            ObjectList([FieldPanel("slug")], heading=_("Settings")),
        ],
        base_form_class=CampaignPageForm,
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self):
        return self.title

    def permissions_for_user(self, user):
        return CampaignPermissionTester(user, self)

    def serve(self, request, *args, **kwargs):
        raise Http404  # a delivery, not a web page

    def get_url_parts(self, request=None):
        return None

    # Validation

    def clean(self):
        super().clean()
        errors = self.campaign_errors()
        if errors:
            raise ValidationError(errors)

    def campaign_errors(self, offers: Iterable[Any] | None = None) -> dict:
        """Field -> errors of the campaign's settings (``offers``: the chosen
        offers, if not the page's own, e.g. a form's)."""
        errors: dict[str, list] = {}
        space = self.space if self.space_id else None
        if space is None:
            return errors
        environment = space.environment
        if environment.is_anonymous:
            errors["space"] = [
                _(
                    "A campaign needs contacts: this space belongs to an anonymous "
                    "environment."
                )
            ]
            return errors
        check_condition(
            errors,
            "population",
            self.population,
            environment.condition_schema(allow_context=False),
        )
        if (
            self.category_id
            and self.category is not None
            and self.category.environment_id != environment.pk
        ):
            errors["category"] = [_("This category belongs to another environment.")]
        chosen = list(self.offers.all() if offers is None else offers)
        chosen_errors = offer_errors(space, chosen)
        if chosen_errors:
            errors["offers"] = chosen_errors
        most = len(chosen) if chosen else min(self.count or 1, space.offer_limit)
        if not chosen and self.count and self.count > space.offer_limit:
            errors["count"] = [space.too_many_offers()]
        ranks = sorted(
            {
                child.value.get("rank") or 1
                for child in self.body
                if child.block_type == "offer"
            }
        )
        beyond = [rank for rank in ranks if rank > most]
        if beyond:
            errors["body"] = [
                _(
                    "No contact gets an offer at rank %(ranks)s: at most %(most)d "
                    "offers per contact."
                )
                % {"ranks": ", ".join(str(rank) for rank in beyond), "most": most}
            ]
        return errors

    def save(self, *args, **kwargs):
        if self.space_id:
            self.environment_id = self.space.environment_id
        super().save(*args, **kwargs)

    # What a run reads, and the delivery for one contact

    def spec(self) -> CampaignSpec:
        """The campaign's settings as a run reads them (this object's: the
        published version for the row of a live page; call it on
        ``get_latest_revision_as_object()`` for the latest draft)."""
        space = self.space
        return CampaignSpec(
            campaign_id=self.pk,
            environment_id=space.environment_id,
            space_code=space.code,
            population=self.population or None,
            count=self.count,
            category=self.category.code if self.category is not None else None,
            themes=split_themes(self.themes),
            date=self.contact_date,
            exclude_fewer=self.exclude_fewer,
            offer_ids=tuple(sorted(offer.pk for offer in self.offers.all())),
        )

    def render_for(
        self,
        contact_key: str,
        propositions: Iterable[Any],
        *,
        contact: Mapping[str, Any] | None = None,
        text: bool = False,
    ) -> str:
        """The body for one contact, with its offers at their ranks (HTML, or
        plain text with ``text=True``).

        ``propositions``: the contact's, each with ``rank`` and ``offer_id``
        (or ``offer``), optionally ``id`` and ``weight`` (e.g. ``Proposition``
        rows), rendered through the campaign's space; or the engine's rendered
        propositions (``propose()``), whose ``html`` and ``text`` are used as
        they are. ``contact``: the contact's attributes, for a space template
        that reads them (read from the database if the space has one and they
        are not given).
        """
        from ..campaigns.content import render_body

        return render_body(self, contact_key, propositions, contact=contact, text=text)

    # Previews: the body with the preview contact's offers, or placeholders.

    preview_modes = [("", _("Delivery (HTML)")), ("text", _("Delivery (text)"))]

    def serve_preview(self, request, mode_name):
        from ..campaigns.content import serve_preview

        return serve_preview(self, request, mode_name)


def offer_errors(space, offers: list[Any]) -> list[str]:
    errors = []
    foreign = [o for o in offers if o.environment_id != space.environment_id]
    if foreign:
        errors.append(
            _("These offers belong to another environment: %(offers)s.")
            % {"offers": ", ".join(o.code for o in foreign)}
        )
    ids = [o.pk for o in offers if o.environment_id == space.environment_id]
    on_space = set(space.offers.filter(pk__in=ids).values_list("pk", flat=True))
    elsewhere = [o for o in offers if o.pk in ids and o.pk not in on_space]
    if elsewhere:
        errors.append(
            _("These offers are not published on “%(space)s”: %(offers)s.")
            % {"space": space.label, "offers": ", ".join(o.code for o in elsewhere)}
        )
    return errors
