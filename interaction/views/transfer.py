"""Catalogue export and import in the admin (SPEC §8), for administrators.

*Export* (a button on each environment of the listing) downloads the
environment's document: live versions, or with ``?drafts=1`` the latest ones.
*Import* takes a file, shows the dry run's report (or every problem with its
path) and, once confirmed, imports it for real, re-validated; the document
waits in the session between the two steps. Both need
``interaction.transfer_catalogue`` (:mod:`interaction.rules`) on the
environment: an administrator working in it; importing a new environment also
needs ``interaction.add_environment``. URL names: ``interaction_transfer:export``
(an environment's id) and ``interaction_transfer:import``.
"""

from __future__ import annotations

import hashlib
import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import include, path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import ListingButton

from ..models import Environment
from ..rules import TRANSFER_PERMISSION
from ..transfer import document as catalogue
from ..transfer.apply import Report, import_document
from ..transfer.schema import MAX_DOCUMENT_BYTES, Document
from ..transfer.validate import Problem, Refused, read

NAMESPACE = "interaction_transfer"
#: The session key under which an upload waits for its confirmation.
SESSION_KEY = "interaction_catalogue_import"


def admin_urls():
    """The views' URLs, for the ``register_admin_urls`` hook."""
    patterns = [
        path("<int:pk>/export/", ExportView.as_view(), name="export"),
        path("import/", ImportView.as_view(), name="import"),
    ]
    return [path("interaction/catalogue/", include((patterns, NAMESPACE)))]


def listing_buttons(environment, user):
    """Export (live, drafts) and import, on an environment of the listing."""
    if not isinstance(environment, Environment) or not user.has_perm(
        TRANSFER_PERMISSION, environment
    ):
        return
    export_url = reverse(f"{NAMESPACE}:export", args=[environment.pk])
    yield ListingButton(
        _("Export catalogue"), export_url, icon_name="download", priority=40
    )
    yield ListingButton(
        _("Export catalogue with drafts"),
        f"{export_url}?drafts=1",
        icon_name="download",
        priority=41,
    )
    yield ListingButton(
        _("Import a catalogue"),
        reverse(f"{NAMESPACE}:import"),
        icon_name="upload",
        priority=42,
    )


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(TRANSFER_PERMISSION)


def menu_item():
    return ImportMenuItem(
        _("Import a catalogue"),
        reverse(f"{NAMESPACE}:import"),
        name="interaction-catalogue-import",
        icon_name="upload",
        order=900,
    )


class ExportView(View):
    def get(self, request, pk):
        environment = get_object_or_404(Environment, pk=pk)
        if not request.user.has_perm(TRANSFER_PERMISSION, environment):
            raise PermissionDenied
        drafts = bool(request.GET.get("drafts"))
        result = catalogue.export(environment, drafts=drafts)
        text = json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n"
        name = f"{environment.code}-{'drafts' if drafts else 'live'}.json"
        response = HttpResponse(text, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Catalogue file"),
        help_text=_(
            "A JSON document written by an export (manage.py interaction_export "
            "or the Export catalogue button). Images are matched by file name."
        ),
    )
    publish = forms.BooleanField(
        label=_("Publish"),
        required=False,
        help_text=_(
            "Publish what is imported (spaces, categories, then offers). "
            "Otherwise changes are saved as drafts."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(
                _("The file is too big (at most %(max)s bytes).")
                % {"max": f"{MAX_DOCUMENT_BYTES:,}"}
            )
        return upload


class ImportView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "interaction/transfer/import.html"
    page_title = _("Import a catalogue")
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(TRANSFER_PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {
                "url": reverse(Environment.snippet_viewset.get_url_name("list")),
                "label": capfirst(Environment._meta.verbose_name_plural),
            },
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm())
        return context

    def post(self, request, *args, **kwargs):
        if "confirm" in request.POST:
            return self.confirm(request)
        request.session.pop(SESSION_KEY, None)
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        content = upload.read(MAX_DOCUMENT_BYTES + 1)
        publish = form.cleaned_data["publish"]
        report, problems = self.run(content, publish=publish, dry_run=True)
        context = self.get_context_data(
            form=form, report=report, problems=problems, file_name=upload.name
        )
        if report is not None:
            text = content.decode("utf-8")
            request.session[SESSION_KEY] = {
                "text": text,
                "digest": hashlib.sha256(content).hexdigest(),
                "name": upload.name[:255],
                "publish": publish,
            }
            context["digest"] = request.session[SESSION_KEY]["digest"]
        return self.render_to_response(context)

    def confirm(self, request):
        pending = request.session.get(SESSION_KEY)
        if not pending or pending["digest"] != request.POST.get("digest"):
            messages.error(
                request, _("Nothing to import: upload the file again, please.")
            )
            return HttpResponseRedirect(reverse(f"{NAMESPACE}:import"))
        report, problems = self.run(
            pending["text"].encode("utf-8"),
            publish=pending["publish"],
            dry_run=False,
            source=pending["name"],
        )
        if report is None:
            # Something changed on the site since the dry run.
            return self.render_to_response(
                self.get_context_data(problems=problems, file_name=pending["name"])
            )
        del request.session[SESSION_KEY]
        messages.success(
            request,
            _("Catalogue “%(name)s” imported: %(summary)s")
            % {"name": pending["name"], "summary": " ".join(report.lines())},
        )
        return HttpResponseRedirect(
            reverse(Environment.snippet_viewset.get_url_name("list"))
        )

    def run(
        self, content: bytes, *, publish: bool, dry_run: bool, source: str = ""
    ) -> tuple[Report | None, list[Problem]]:
        """The import's report, or ``None`` and every problem."""
        try:
            document = read(content)
            self.check_environment(document)
            report = import_document(
                document,
                user=self.request.user,
                publish=publish,
                dry_run=dry_run,
                source=source,
            )
        except Refused as refused:
            return None, refused.problems
        return report, []

    def check_environment(self, document: Document) -> None:
        """The user may import into the document's environment (and create it)."""
        user = self.request.user
        code = document.environment.code
        environment = Environment.objects.filter(code=code).first()
        if environment is None:
            allowed = user.has_perm("interaction.add_environment")
        else:
            allowed = user.has_perm(TRANSFER_PERMISSION, environment)
        if not allowed:
            raise Refused(
                [
                    Problem(
                        "environment.code",
                        str(
                            _("You may not import into the environment “%(code)s”.")
                            % {"code": code}
                        ),
                    )
                ]
            )
