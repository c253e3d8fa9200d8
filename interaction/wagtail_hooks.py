from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.widgets import ListingButton
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from .models import (
    ApiKey,
    Environment,
    InteractionLogEntry,
    Offer,
    OfferCategory,
    OfferSpace,
    Proposition,
    TypologyRule,
)
from .permissions import RulesPermissionPolicy
from .snippets import InteractionViewSetGroup
from .views.space_preview import SpacePreviewView

CATALOGUE_MODELS = (Environment, Offer, OfferCategory, OfferSpace, TypologyRule)

# Policies first: registering a viewset creates a fallback policy otherwise.
for model in (*CATALOGUE_MODELS, ApiKey, Proposition):
    register_permission_policy(model, RulesPermissionPolicy(model))

register_snippet(InteractionViewSetGroup)


@hooks.register("register_log_actions")
def register_catalogue_log(actions):
    for model in CATALOGUE_MODELS:
        actions.register_model(model, InteractionLogEntry)


@hooks.register("register_admin_urls")
def register_space_preview_url():
    return [
        path(
            "interaction/spaces/<int:pk>/preview/",
            SpacePreviewView.as_view(),
            name="interaction_space_preview",
        )
    ]


@hooks.register("register_snippet_listing_buttons")
def register_space_preview_button(snippet, user, next_url=None):
    if isinstance(snippet, OfferSpace) and user.has_perm(
        "interaction.change_offerspace", snippet
    ):
        yield ListingButton(
            _("Preview for a contact"),
            reverse("interaction_space_preview", args=[snippet.pk]),
            icon_name="view",
            priority=30,
        )
