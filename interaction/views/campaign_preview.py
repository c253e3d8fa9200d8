"""Preview a campaign for a chosen contact: the delivery with that contact's
offers at their ranks, and why the other candidates were dropped.

The preview runs the engine as an inbound call with the campaign's inputs,
not real-time and storing nothing (:func:`interaction.campaigns.content.preview`),
on the campaign's latest version (its draft, if it has one).
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button

from ..campaigns.content import preview
from ..models import CampaignPage
from ..rules import environment_ids_for
from .get_form import GetFormView
from .preview_contact import find_contacts
from .space_preview import trace_rows

URL_NAME = "interaction_campaign_preview"


class CampaignPreviewForm(forms.Form):
    contact = forms.CharField(
        label=_("Contact id"),
        max_length=255,
        help_text=_(
            "The contact's id (its primary key, as in a run's export), "
            "or find one by name or e-mail above."
        ),
    )


class CampaignPreviewView(WagtailAdminTemplateMixin, GetFormView):
    template_name = "interaction/admin/campaign_preview.html"
    form_class = CampaignPreviewForm
    header_icon = "view"
    bound_by = "contact"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.page = get_object_or_404(CampaignPage, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        if not self.page.permissions_for_user(request.user).can_edit():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Preview of %(campaign)s") % {"campaign": self.page.title}

    def get_breadcrumbs_items(self):
        index = self.page.get_parent()
        return self.breadcrumbs_items + [
            {
                "url": reverse("wagtailadmin_explore", args=[index.pk]),
                "label": index.title,
            },
            {
                "url": reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
                "label": self.page.title,
            },
            {"url": "", "label": _("Preview for a contact")},
        ]

    def get_initial(self):
        return {"contact": self.page.preview_contact}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["searchable"] = self.page.space.environment.dimension_model is not None
        context["find"] = self.request.GET.get("find", "").strip()
        context["found"] = self._found(context["find"])
        return context

    def _found(self, query: str) -> list[tuple[object, str]]:
        """The contacts a search finds, each with the link that previews the
        campaign for it."""
        found = []
        for contact in find_contacts(self.page.space.environment, query):
            params = self.request.GET.copy()
            params.pop("find", None)
            params["contact"] = str(contact.pk)
            found.append((contact, "?" + params.urlencode()))
        return found

    def form_valid(self, form):
        campaign = self.page.get_latest_revision_as_object()
        result = preview(campaign, form.cleaned_data["contact"])
        rows = trace_rows(result.result) if result.result else []
        return self.render_to_response(
            self.get_context_data(
                form=form,
                campaign=campaign,
                preview=result,
                dropped=[row for row in rows if not row["decision"].kept],
            )
        )


def preview_button(page, user, priority=25):
    """ "Preview for a contact", in a campaign's menus (listing, header)."""
    specific_class = page.specific_class
    if (
        specific_class is not None
        and issubclass(specific_class, CampaignPage)
        and page.permissions_for_user(user).can_edit()
    ):
        yield Button(
            _("Preview for a contact"),
            reverse(URL_NAME, args=[page.pk]),
            icon_name="view",
            priority=priority,
        )


def hide_other_environments(parent_page, pages: QuerySet, request) -> QuerySet:
    """The explorer lists no campaign of an environment the user does not
    work in."""
    user = request.user
    if user.is_superuser:
        return pages
    return pages.exclude(
        pk__in=CampaignPage.objects.exclude(
            environment__in=environment_ids_for(user)
        ).values("pk")
    )
