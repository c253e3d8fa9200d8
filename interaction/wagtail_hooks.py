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
from .reports import hooks as reports_hooks  # noqa: F401 (registers the reports)
from .snippets import InteractionViewSetGroup
from .targeting.widgets import COUNT_URL_NAME, FIELDS_URL_NAME
from .transfer import log as transfer_log
from .views import campaign_preview, condition_count, preview_contact, simulations
from .views import transfer as catalogue_transfer
from .views.campaign_runs import admin_urls as campaign_runs_urls
from .views.campaign_runs import runs_button as campaign_runs_button
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
    transfer_log.register_log_actions(actions)


@hooks.register("register_admin_urls")
def register_space_preview_url():
    return [
        path(
            "interaction/spaces/<int:pk>/preview/",
            SpacePreviewView.as_view(),
            name="interaction_space_preview",
        ),
        path(
            "interaction/environments/<int:environment_id>/preview-contact/",
            preview_contact.PreviewContactView.as_view(),
            name=preview_contact.URL_NAME,
        ),
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


@hooks.register("register_admin_urls")
def register_campaign_preview_url():
    return [
        path(
            "interaction/campaigns/<int:pk>/preview/",
            campaign_preview.CampaignPreviewView.as_view(),
            name=campaign_preview.URL_NAME,
        )
    ]


@hooks.register("register_page_listing_more_buttons")
def register_campaign_preview_listing_button(page, user, next_url=None):
    yield from campaign_preview.preview_button(page, user)
    yield from campaign_runs_button(page, user)


@hooks.register("register_page_header_buttons")
def register_campaign_preview_header_button(page, user, view_name, next_url=None):
    yield from campaign_preview.preview_button(page, user)
    yield from campaign_runs_button(page, user)


@hooks.register("construct_explorer_page_queryset")
def hide_campaigns_in_the_explorer(parent_page, pages, request):
    return campaign_preview.hide_other_environments(parent_page, pages, request)


@hooks.register("construct_page_chooser_queryset")
def hide_campaigns_in_the_chooser(pages, request):
    return campaign_preview.hide_other_environments(None, pages, request)


@hooks.register("register_admin_urls")
def register_campaign_runs_urls():
    return campaign_runs_urls()


@hooks.register("register_admin_urls")
def register_simulation_urls():
    return simulations.admin_urls()


@hooks.register("register_admin_menu_item")
def register_simulations_menu_item():
    return simulations.menu_item()


@hooks.register("register_admin_urls")
def register_condition_builder_urls():
    return [
        path(
            "interaction/conditions/fields/",
            condition_count.ConditionFieldsView.as_view(),
            name=FIELDS_URL_NAME,
        ),
        path(
            "interaction/conditions/count/",
            condition_count.ConditionCountView.as_view(),
            name=COUNT_URL_NAME,
        ),
    ]


@hooks.register("register_admin_urls")
def register_catalogue_transfer_urls():
    return catalogue_transfer.admin_urls()


@hooks.register("register_snippet_listing_buttons")
def register_catalogue_transfer_buttons(snippet, user, next_url=None):
    yield from catalogue_transfer.listing_buttons(snippet, user)


@hooks.register("register_settings_menu_item")
def register_catalogue_import_menu_item():
    return catalogue_transfer.menu_item()
