"""A campaign's batch runs in the admin (SPEC §6): their history, starting
one, its progress (refreshed while it runs), cancelling, resuming, the CSV
export and "Mark as sent".

Only delivery managers and administrators working in the campaign's
environment (``interaction.run_campaign``, :mod:`interaction.rules`). URL
names: ``interaction_campaign_runs:index`` and ``:start`` (a campaign page's
id), ``:detail``, ``:cancel``, ``:resume``, ``:export``, ``:mark_sent`` (a
run's id).
"""

from __future__ import annotations

import csv

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button, HeaderButton

from ..campaigns import export, runs
from ..models import CampaignPage, CampaignRun, CampaignRunChunk, OfferSpace
from ..models.choices import ChunkStatus, RunStatus
from .progress import REFRESH_MS, ProgressFragmentMixin, display

NAMESPACE = "interaction_campaign_runs"
PERMISSION = "interaction.run_campaign"


def admin_urls():
    """The views' URLs, for the ``register_admin_urls`` hook."""
    patterns = [
        path("campaign/<int:page_id>/", RunsView.as_view(), name="index"),
        path("campaign/<int:page_id>/start/", StartRunView.as_view(), name="start"),
        path("<int:run_id>/", RunView.as_view(), name="detail"),
        path("<int:run_id>/cancel/", CancelRunView.as_view(), name="cancel"),
        path("<int:run_id>/resume/", ResumeRunView.as_view(), name="resume"),
        path("<int:run_id>/export/", ExportRunView.as_view(), name="export"),
        path("<int:run_id>/mark-sent/", MarkSentView.as_view(), name="mark_sent"),
    ]
    return [path("interaction/campaign-runs/", include((patterns, NAMESPACE)))]


def runs_url(page) -> str:
    return reverse(f"{NAMESPACE}:index", args=[page.pk])


def run_url(run: CampaignRun) -> str:
    return reverse(f"{NAMESPACE}:detail", args=[run.pk])


def runs_button(page, user, priority=26):
    """ "Runs", in a campaign's menus (listing, header), for those who may run
    it."""
    specific_class = page.specific_class
    if (
        specific_class is not None
        and issubclass(specific_class, CampaignPage)
        and user.has_perm(PERMISSION, page)
    ):
        yield Button(_("Runs"), runs_url(page), icon_name="history", priority=priority)


class StartRunForm(forms.Form):
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text=_(
            "Optional. Orders each contact's offers of equal weight; the same "
            "seed, date and catalogue give the same propositions. Empty: a "
            "random one (shown on the run)."
        ),
    )


class _CampaignMixin:
    """Views of one campaign page, for those who may run it."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        self.page = get_object_or_404(CampaignPage, pk=kwargs["page_id"])

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION, self.page):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class _RunMixin:
    """Views of one run, for those who may run its campaign."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        self.run = get_object_or_404(
            CampaignRun.objects.select_related("campaign", "created_by"),
            pk=kwargs["run_id"],
        )

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION, self.run):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def _campaign_breadcrumbs(page) -> list[dict[str, str]]:
    return [
        {
            "url": reverse("wagtailadmin_explore", args=[page.get_parent().pk]),
            "label": page.get_parent().title,
        },
        {
            "url": reverse("wagtailadmin_pages:edit", args=[page.pk]),
            "label": page.title,
        },
        {"url": runs_url(page), "label": _("Runs")},
    ]


class RunsView(_CampaignMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "interaction/campaign_runs/index.html"
    header_icon = "history"

    def get_page_title(self):
        return _("Runs of %(campaign)s") % {"campaign": self.page.title}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + _campaign_breadcrumbs(self.page)

    def get_header_buttons(self):
        return [
            HeaderButton(
                _("Edit campaign"),
                reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
                icon_name="edit",
                attrs={"data-campaign-edit": ""},
            )
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        history = list(
            CampaignRun.objects.filter(campaign=self.page).select_related("created_by")
        )
        context.update(
            campaign=self.page,
            runs=[display(run) for run in history],
            can_start=not any(run.active for run in history),
            form=kwargs.get("form") or StartRunForm(),
        )
        return context


class StartRunView(_CampaignMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = StartRunForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("The seed is a whole number from 0 to 2⁶³−1."))
            return HttpResponseRedirect(runs_url(self.page))
        try:
            run = runs.start(
                self.page, user=request.user, seed=form.cleaned_data["seed"]
            )
        except runs.RunError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(runs_url(self.page))
        messages.success(request, _("Run started."))
        return HttpResponseRedirect(run_url(run))


class RunView(
    _RunMixin, ProgressFragmentMixin, WagtailAdminTemplateMixin, TemplateView
):
    template_name = "interaction/campaign_runs/detail.html"
    header_icon = "history"

    progress_template = "interaction/campaign_runs/progress.html"
    job_name = "run"

    def job(self) -> CampaignRun:
        return self.run

    def get_page_title(self):
        return _("Run %(run)s of %(campaign)s") % {
            "run": self.run.pk,
            "campaign": self.run.campaign.title,
        }

    def get_breadcrumbs_items(self):
        return (
            self.breadcrumbs_items
            + _campaign_breadcrumbs(self.run.campaign)
            + [{"url": "", "label": _("Run %(run)s") % {"run": self.run.pk}}]
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.run
        context.update(
            run=display(run),
            # The run keeps the space's code (codes are unique site-wide).
            space=OfferSpace.objects.filter(code=run.spec.get("space_code")).first(),
            refresh_ms=REFRESH_MS,
            failed_chunks=CampaignRunChunk.objects.filter(
                run=run, status=ChunkStatus.FAILED
            )[:20],
            can_resume=run.status in (RunStatus.RUNNING, RunStatus.FAILED),
            can_cancel=run.active,
            can_mark_sent=run.status == RunStatus.DONE and run.sent_at is None,
            can_export=run.status in (RunStatus.DONE, RunStatus.CANCELLED)
            or run.propositions_written > 0,
        )
        return context


class _RunAction(_RunMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            message = self.act()
        except runs.RunError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, message)
        return HttpResponseRedirect(run_url(self.run))

    def act(self) -> str:
        raise NotImplementedError


class CancelRunView(_RunAction):
    def act(self) -> str:
        if not runs.cancel(self.run):
            raise runs.RunError(str(_("The run had ended: nothing to cancel.")))
        return str(_("Run cancelled: no chunk is written after this."))


class ResumeRunView(_RunAction):
    def act(self) -> str:
        runs.resume(self.run)
        return str(_("Run resumed: its chunks not done run again."))


class MarkSentView(_RunAction):
    def act(self) -> str:
        moved = runs.mark_sent(self.run)
        return str(_("%(count)s propositions marked as presented.") % {"count": moved})


class _Echo:
    """A file that gives back what is written: ``csv.writer`` lines, streamed."""

    def write(self, value: str) -> str:
        return value


class ExportRunView(_RunMixin, View):
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in export.rows(self.run, self.run.campaign)),
            content_type="text/csv; charset=utf-8",
        )
        name = slugify(self.run.campaign.title) or "campaign"
        response["Content-Disposition"] = (
            f'attachment; filename="{name}-run-{self.run.pk}.csv"'
        )
        return response
