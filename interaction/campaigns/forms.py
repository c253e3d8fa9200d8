"""The campaign page's admin form: choices limited to live objects of the
user's environments."""

from __future__ import annotations

from typing import Any

from django.forms import ModelChoiceField
from wagtail.admin.forms.pages import WagtailAdminPageForm


class CampaignPageForm(WagtailAdminPageForm):
    """Spaces, categories and offers: live ones of the environments the user
    works in that have contacts (a targeting dimension)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from ..models import Offer, OfferCategory, OfferSpace
        from ..rules import for_user

        querysets: dict[str, Any] = {
            "space": OfferSpace.objects.live()
            .exclude(environment__dimension="")
            .select_related("environment"),
            "category": OfferCategory.objects.live()
            .exclude(environment__dimension="")
            .select_related("environment"),
            "offers": Offer.objects.live()
            .exclude(environment__dimension="")
            .select_related("environment"),
        }
        for name, queryset in querysets.items():
            field = self.fields.get(name)
            if not isinstance(field, ModelChoiceField):
                continue
            if self.for_user is not None:
                queryset = for_user(queryset, self.for_user)
            field.queryset = queryset
        offers = self.fields.get("offers")
        if isinstance(offers, ModelChoiceField):
            offers.label_from_instance = _offer_label  # type: ignore[assignment]

    def clean(self):
        cleaned_data = super().clean()
        if "offers" in cleaned_data:
            # The model's checks (run next) see the chosen offers, not the
            # saved ones: modelcluster sets them only when saving.
            self.instance.offers = list(cleaned_data["offers"] or ())
        return cleaned_data


def _offer_label(offer) -> str:
    return f"{offer.label} ({offer.code}, {offer.environment.label})"
