"""API keys in the admin: created (the key shown once), listed, revoked.

Only Interaction administrators hold the ``apikey`` permissions
(:mod:`interaction.roles`). A key belongs to several environments: the
listing shows the keys whose environments are all the user's, and the object
check of :mod:`.scoping` refuses any other (:func:`interaction.rules.can_work_in`).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column, DateColumn, UserColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets import ListingButton
from wagtail.snippets.views.snippets import CreateView, IndexView

from ..models import ApiKey, Environment
from ..models.api_key import KEY_PREFIX
from .scoping import EnvironmentScopedViewSet


def _environments(key: ApiKey) -> str:
    return ", ".join(environment.label for environment in key.environments.all())


def _status(key: ApiKey) -> str:
    return str(_("revoked")) if key.is_revoked else str(_("active"))


def _user_environments(request):
    return Environment.objects.for_user(request.user)


class ApiKeyFilterSet(WagtailFilterSet):
    environments = django_filters.ModelChoiceFilter(
        queryset=_user_environments, label=_("Environment")
    )

    class Meta:
        model = ApiKey
        fields = ["environments"]


class ApiKeyIndexView(IndexView):
    revoke_url_name: str | None = None

    def get_base_queryset(self):
        return super().get_base_queryset().prefetch_related("environments")

    def get_list_buttons(self, instance):
        buttons = super().get_list_buttons(instance)
        if not instance.is_revoked and self.permission_policy.user_has_permission(
            self.request.user, "change"
        ):
            buttons.append(
                ListingButton(
                    _("Revoke"),
                    reverse(self.revoke_url_name, args=[instance.pk]),
                    icon_name="lock",
                    priority=40,
                )
            )
        return buttons


class ApiKeyCreateView(CreateView):
    """Saves the new key, then shows it once (never stored in clear, no redirect:
    the key is in this response only)."""

    created_template_name = "interaction/admin/api_key_created.html"

    def save_instance(self):
        self.key = self.form.instance.issue()
        self.form.instance.created_by = self.request.user
        return super().save_instance()

    def save_action(self):
        response = TemplateResponse(
            self.request,
            self.created_template_name,
            {
                "object": self.object,
                "key": self.key,
                "index_url": self.get_success_url(),
                "page_title": _("API key created"),
                "header_title": _("API key created"),
                "header_icon": "key",
            },
        )
        # The only copy of the key: not kept by the browser's cache either.
        add_never_cache_headers(response)
        return response


class ApiKeyRevokeView(PermissionCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """Asks for confirmation (GET), then revokes the key (POST)."""

    model = ApiKey
    permission_required = "change"
    template_name = "interaction/admin/api_key_revoke.html"
    page_title = _("Revoke API key")
    header_icon = "lock"
    index_url_name = ""  # set by ApiKeyViewSet

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = get_object_or_404(ApiKey, pk=kwargs["pk"])

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context["index_url"] = reverse(self.index_url_name)
        return context

    def post(self, request, *args, **kwargs):
        self.object.revoke()
        messages.success(
            request, _("API key “%(key)s” revoked.") % {"key": self.object}
        )
        return redirect(self.index_url_name)


class ApiKeyViewSet(EnvironmentScopedViewSet):
    model = ApiKey
    icon = "key"
    menu_label = _("API keys")
    menu_order = 600
    search_fields = ["label", "prefix"]
    copy_view_enabled = False
    index_view_class = ApiKeyIndexView
    add_view_class = ApiKeyCreateView
    filterset_class = ApiKeyFilterSet
    #: Never the secret: the key's public prefix only.
    list_export = [
        "label",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_display = [
        "label",
        Column(
            "prefix", label=_("Key"), accessor=lambda key: f"{KEY_PREFIX}{key.prefix}…"
        ),
        Column("environments", label=_("Environments"), accessor=_environments),
        UserColumn("created_by", label=_("Created by")),
        DateColumn("created_at", label=_("Created")),
        DateColumn("last_used_at", label=_("Last used")),
        Column("status", label=_("Status"), accessor=_status),
    ]
    inspect_view_fields = [
        "label",
        "prefix",
        "environments",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    panels = [
        FieldPanel("label"),
        FieldPanel("environments", widget=forms.CheckboxSelectMultiple),
    ]

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(
            revoke_url_name=self.get_url_name("revoke"), **kwargs
        )

    @property
    def revoke_view(self):
        return self.construct_view(
            ApiKeyRevokeView, index_url_name=self.get_url_name("list")
        )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(
                f"revoke/<{self.pk_path_converter}:pk>/",
                self.revoke_view,
                name="revoke",
            ),
        ]
