"""The reports' side-panel filters; every choice is of the user's environments."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet

from ..models import (
    CampaignPage,
    CapUsage,
    Environment,
    Offer,
    OfferSpace,
    Proposition,
)
from ..models.choices import Channel, PropositionStatus
from ..rules import environment_ids_for
from .queries import BY_OFFER, GROUPINGS

#: The longest text a filter field accepts (codes and contact keys are shorter).
MAX_TEXT = 255


def _environments(request):
    return Environment.objects.for_user(request.user).order_by("label")


def _spaces(request):
    return OfferSpace.objects.for_user(request.user).order_by("label")


def _offers(request):
    return Offer.objects.for_user(request.user).order_by("label")


def _campaigns(request):
    pages = CampaignPage.objects.order_by("title")
    if request.user.is_superuser:
        return pages
    return pages.filter(environment_id__in=environment_ids_for(request.user))


class PropositionFilterSet(WagtailFilterSet):
    """What both proposition reports filter on."""

    environment = django_filters.ModelChoiceFilter(
        label=_("Environment"), queryset=_environments, empty_label=_("All")
    )
    offer_code = django_filters.CharFilter(
        label=_("Offer code"),
        max_length=MAX_TEXT,
        help_text=_("Also an offer deleted since."),
    )
    space = django_filters.ModelChoiceFilter(
        label=_("Space"), queryset=_spaces, empty_label=_("All")
    )
    campaign = django_filters.ModelChoiceFilter(
        label=_("Campaign"),
        queryset=_campaigns,
        empty_label=_("All"),
        method="filter_campaign",
    )
    channel = django_filters.ChoiceFilter(
        label=_("Channel"), choices=Channel.choices, empty_label=_("All")
    )
    event_date = django_filters.DateFromToRangeFilter(
        label=_("Date"), widget=DateRangePickerWidget
    )

    class Meta:
        model = Proposition
        fields: list[str] = []

    def filter_campaign(self, queryset, name, value):
        return queryset.filter(campaign_id=value.pk) if value else queryset


class OfferAnalysisFilterSet(PropositionFilterSet):
    by = django_filters.ChoiceFilter(
        label=_("Per"),
        choices=list(GROUPINGS.items()),
        empty_label=None,
        null_label=None,
        method="keep",
    )

    def keep(self, queryset, name, value):
        """Not a filter: how the rows are grouped (read by the view)."""
        return queryset

    @property
    def grouping(self) -> str:
        if self.is_valid():
            return self.form.cleaned_data.get("by") or BY_OFFER
        return BY_OFFER


class PropositionHistoryFilterSet(PropositionFilterSet):
    contact_key = django_filters.CharFilter(label=_("Contact"), max_length=MAX_TEXT)
    visitor_id = django_filters.CharFilter(label=_("Visitor"), max_length=MAX_TEXT)
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=PropositionStatus.choices, empty_label=_("All")
    )


class CapUsageFilterSet(WagtailFilterSet):
    environment = django_filters.ModelChoiceFilter(
        label=_("Environment"),
        queryset=_environments,
        empty_label=_("All"),
        field_name="rule__environment",
    )
    offer = django_filters.ModelChoiceFilter(
        label=_("Offer"), queryset=_offers, empty_label=_("All")
    )
    period_start = django_filters.DateFromToRangeFilter(
        label=_("Period start"), widget=DateRangePickerWidget
    )

    class Meta:
        model = CapUsage
        fields: list[str] = []
