"""Simulations in the admin (SPEC §6): the list, a new simulation, its
progress and results (with the coverage diagnostics), cancelling, and two
simulations compared side by side.

Delivery managers and administrators start and cancel simulations
(``interaction.run_simulation``); offer managers of the environment see
their results (``interaction.see_simulation``); every list and choice is
limited to the user's environments. URL names: ``interaction_simulations:
index``, ``:new``, ``:compare``, ``:detail`` and ``:cancel`` (an id).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import HeaderButton

from ..models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    Simulation,
    TypologyRule,
)
from ..models.choices import RunStatus
from ..simulation import aggregation, spec
from ..snippets.forms import tree_label
from ..targeting.describe import describe_condition, field_labels
from ..targeting.validation import check_condition
from .progress import REFRESH_MS, ProgressFragmentMixin, display

NAMESPACE = "interaction_simulations"
RUN = "interaction.run_simulation"
SEE = "interaction.see_simulation"
#: Simulations listed (newest first).
LISTED = 100


def admin_urls():
    """The views' URLs, for the ``register_admin_urls`` hook."""
    patterns = [
        path("", SimulationsView.as_view(), name="index"),
        path("new/", NewSimulationView.as_view(), name="new"),
        path("compare/", CompareView.as_view(), name="compare"),
        path("<int:simulation_id>/", SimulationView.as_view(), name="detail"),
        path(
            "<int:simulation_id>/cancel/",
            CancelSimulationView.as_view(),
            name="cancel",
        ),
    ]
    return [path("interaction/simulations/", include((patterns, NAMESPACE)))]


def index_url() -> str:
    return reverse(f"{NAMESPACE}:index")


def detail_url(simulation: Simulation) -> str:
    return reverse(f"{NAMESPACE}:detail", args=[simulation.pk])


def visible(user):
    """The simulations ``user`` may see: of their environments."""
    return Simulation.objects.for_user(user).select_related(
        "environment", "space", "category", "created_by"
    )


class SimulationForm(forms.ModelForm):
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text=_(
            "Optional. Orders each contact's offers of equal weight, as a run's "
            "seed: the same seed, date and catalogue give the same result. "
            "Empty: a random one."
        ),
    )

    class Meta:
        model = Simulation
        fields = [
            "name",
            "space",
            "category",
            "themes",
            "population",
            "count",
            "exclude_fewer",
            "contact_date",
            "include_drafts",
        ]
        widgets = {
            "contact_date": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        environments = Environment.objects.for_user(user).filter(dimension__gt="")
        space = self.fields["space"]
        assert isinstance(space, forms.ModelChoiceField)
        space.required = True
        space.queryset = OfferSpace.objects.filter(
            environment__in=environments
        ).order_by("environment__label", "label")
        space.help_text = _(
            "A space of an environment of contacts; a space in design needs "
            "“include drafts”."
        )
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = OfferCategory.objects.filter(
            environment__in=environments
        ).order_by("environment__label", "tree_path")
        category.label_from_instance = tree_label  # type: ignore[assignment]
        contact_date = self.fields["contact_date"]
        assert isinstance(contact_date, forms.DateTimeField)
        contact_date.input_formats = [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d",
        ]

    def clean(self):
        cleaned = super().clean() or {}
        space = cleaned.get("space")
        if space is None:
            return cleaned
        errors: dict[str, list] = {}
        category = cleaned.get("category")
        if category is not None and category.environment_id != space.environment_id:
            errors["category"] = [_("This category belongs to another environment.")]
        environment = space.environment
        check_condition(
            errors,
            "population",
            cleaned.get("population"),
            environment.condition_schema(allow_context=False),
        )
        count = cleaned.get("count")
        if count and count > space.offer_limit:
            errors["count"] = [space.too_many_offers()]
        for field, messages_ in errors.items():
            for message in messages_:
                self.add_error(field, message)
        return cleaned


class SimulationsView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "interaction/simulations/index.html"
    page_title = _("Simulations")
    header_icon = "crosshairs"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(SEE):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        # The slim header titles the page with the last item ("Home" without it).
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_header_buttons(self):
        if not self.request.user.has_perm(RUN):
            return []
        return [
            HeaderButton(
                _("New simulation"), reverse(f"{NAMESPACE}:new"), icon_name="plus"
            )
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        simulations = list(visible(self.request.user)[:LISTED])
        context.update(simulations=[display(s) for s in simulations])
        return context


class NewSimulationView(WagtailAdminTemplateMixin, FormView):
    template_name = "interaction/simulations/new.html"
    page_title = _("New simulation")
    header_icon = "crosshairs"
    form_class = SimulationForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(RUN):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": index_url(), "label": _("Simulations")},
            {"url": "", "label": _("New simulation")},
        ]

    def get_initial(self):
        initial = super().get_initial()
        # The date offers are judged at: now (the engine's default, SPEC §5),
        # shown in the site's time zone, to the minute as the input reads it.
        initial["contact_date"] = timezone.localtime().replace(second=0, microsecond=0)
        copied = self.request.GET.get("from")
        if copied and copied.isdigit():
            source = visible(self.request.user).filter(pk=int(copied)).first()
            if source is not None:
                initial.update(
                    {
                        name: getattr(source, name)
                        for name in SimulationForm.Meta.fields
                        if name != "name"
                    }
                )
                initial["seed"] = source.seed
        return initial

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def form_valid(self, form):
        simulation = form.save(commit=False)
        simulation.environment_id = simulation.space.environment_id
        simulation.seed = form.cleaned_data.get("seed")
        if not self.request.user.has_perm(RUN, simulation):
            raise PermissionDenied
        try:
            spec.start(simulation, user=self.request.user)
        except spec.SimulationError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("Simulation started."))
        return HttpResponseRedirect(detail_url(simulation))


class _SimulationMixin:
    """Views of one simulation, for those who may see it."""

    permission = SEE

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        self.simulation = get_object_or_404(
            Simulation.objects.select_related(
                "environment", "space", "category", "created_by"
            ),
            pk=kwargs["simulation_id"],
        )

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(self.permission, self.simulation):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class SimulationView(
    _SimulationMixin, ProgressFragmentMixin, WagtailAdminTemplateMixin, TemplateView
):
    template_name = "interaction/simulations/detail.html"
    header_icon = "crosshairs"

    progress_template = "interaction/simulations/progress.html"
    job_name = "simulation"

    def job(self) -> Simulation:
        return self.simulation

    def get_page_title(self):
        return str(self.simulation)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": index_url(), "label": _("Simulations")},
            {"url": "", "label": str(self.simulation)},
        ]

    def get_header_buttons(self):
        if not self.request.user.has_perm(RUN, self.simulation):
            return []
        return [
            HeaderButton(
                _("Simulate again"),
                reverse(f"{NAMESPACE}:new") + f"?from={self.simulation.pk}",
                icon_name="repeat",
            )
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        simulation = self.simulation
        user = self.request.user
        context.update(
            simulation=display(simulation),
            refresh_ms=REFRESH_MS,
            results=results_of(simulation, user),
            can_cancel=simulation.active and user.has_perm(RUN, simulation),
            others=visible(user)
            .filter(environment=simulation.environment_id, status=RunStatus.DONE)
            .exclude(pk=simulation.pk)[:LISTED],
        )
        return context


class CancelSimulationView(_SimulationMixin, View):
    http_method_names = ["post"]
    permission = RUN

    def post(self, request, *args, **kwargs):
        if Simulation.objects.filter(
            pk=self.simulation.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).update(status=RunStatus.CANCELLED, finished_at=timezone.now()):
            messages.success(request, _("Simulation cancelled."))
        else:
            messages.error(request, _("The simulation had ended: nothing to cancel."))
        return HttpResponseRedirect(detail_url(self.simulation))


class CompareView(WagtailAdminTemplateMixin, TemplateView):
    """Two simulations side by side: what a catalogue change moves."""

    template_name = "interaction/simulations/compare.html"
    page_title = _("Compare simulations")
    header_icon = "crosshairs"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(SEE):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": index_url(), "label": _("Simulations")},
            {"url": "", "label": _("Compare")},
        ]

    def get(self, request, *args, **kwargs):
        ids = [request.GET.get(name, "") for name in ("first", "second")]
        if not all(value.isascii() and value.isdigit() for value in ids):
            # A bad link, not a refusal: say what the page needs.
            context = super().get_context_data(**kwargs)
            context["error"] = _(
                "Choose two simulations to compare: open a simulation's results "
                "and pick the other one under “Compare”."
            )
            return self.render_to_response(context, status=400)
        # Unknown ids and simulations of others' environments alike: not found.
        self.first, self.second = (self._simulation(int(value)) for value in ids)
        return super().get(request, *args, **kwargs)

    def _simulation(self, pk: int) -> Simulation:
        simulation = get_object_or_404(visible(self.request.user), pk=pk)
        if not self.request.user.has_perm(SEE, simulation):
            raise PermissionDenied
        return simulation

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        first, second = self.first, self.second
        first_results, second_results = first.results, second.results
        figures = [
            (_("Contacts"), "population"),
            (_("Propositions"), "propositions"),
            (_("Contacts with no offer"), "no_offer"),
            (_("Contacts with fewer than asked"), "fewer"),
            (_("Contacts excluded"), "excluded"),
        ]
        context.update(
            first=display(first),
            second=display(second),
            figures=[
                {
                    "label": label,
                    "first": first_results.get(key, 0),
                    "second": second_results.get(key, 0),
                    "change": second_results.get(key, 0) - first_results.get(key, 0),
                }
                for label, key in figures
            ],
            settings=compared_settings(first, second),
            offers=aggregation.compare(first_results, second_results),
        )
        return context


def settings_of(simulation: Simulation) -> dict[str, tuple[Any, Any]]:
    """What ``simulation`` was asked, by row key: (label, value as shown).
    The words are the detail page's; the population reads as a sentence."""
    environment = simulation.environment
    results = simulation.results or {}
    count = str(simulation.count)
    if simulation.exclude_fewer:
        count += " " + str(_("(contacts getting fewer are excluded)"))
    population = describe_condition(
        simulation.population, field_labels(environment.dimension_model)
    )
    return {
        "name": (_("Name"), simulation.name or "—"),
        "environment": (_("Environment"), environment.label),
        "space": (
            _("Space"),
            simulation.space.label if simulation.space else results.get("space", "—"),
        ),
        "category": (
            _("Category"),
            simulation.category.label
            if simulation.category
            else _("The whole environment"),
        ),
        "themes": (_("Themes"), simulation.themes or "—"),
        "count": (_("Offers per contact"), count),
        # A datetime: the template shows it in the admin's time zone and format.
        "contact_date": (_("Contact date"), simulation.contact_date),
        "catalogue": (
            _("Catalogue"),
            _("Including drafts")
            if simulation.include_drafts
            else _("Live offers only"),
        ),
        "population": (_("Population"), population or _("Every contact")),
    }


def compared_settings(first: Simulation, second: Simulation) -> list[dict[str, Any]]:
    """The two simulations' settings row by row, with whether they differ."""
    theirs = settings_of(second)
    rows = []
    for key, (label, value) in settings_of(first).items():
        other = theirs[key][1]
        rows.append(
            {
                "key": key,
                "label": label,
                "first": value,
                "second": other,
                "differs": value != other,
            }
        )
    return rows


#: What a diagnostics row's kind says.
KIND_LABELS = {
    "filter": _("Target filter"),
    "dates": _("Dates (the offer's or a category's above it)"),
    "content": _("Required content of the space missing"),
    "typology": _("Typology rule (the contact's history)"),
    "budget": _("Global capping budget used up"),
    "blocked": _("Category not published or disabled"),
    "fields": _("Reads fields that are not targetable"),
    "weight": _("Weight zero or below, or out of range"),
    "excluded": _("Contact left out for getting fewer than asked"),
    "other": _("Other"),
}
_MODELS: dict[str, type[models.Model]] = {
    "offer": Offer,
    "category": OfferCategory,
    "rule": TypologyRule,
    "environment": Environment,
}


def results_of(simulation: Simulation, user) -> dict[str, Any]:
    """The simulation's results with what the page adds: each reason's label
    and the link to its object (its edit view, where ``user`` may edit it)."""
    results = dict(simulation.results or {})
    if not results:
        return results
    finder = AdminURLFinder(user)
    diagnostics = dict(results.get("diagnostics") or {})
    reasons = []
    wanted: dict[str, set[int]] = {}
    for row in diagnostics.get("reasons", ()):
        if row.get("object_id") is not None and row["object_type"] in _MODELS:
            wanted.setdefault(row["object_type"], set()).add(row["object_id"])
    objects: dict[tuple[str, int], Any] = {}
    for kind, ids in wanted.items():
        if kind == "environment":
            objects[(kind, simulation.environment_id)] = simulation.environment
            continue
        for found in _MODELS[kind]._default_manager.filter(
            pk__in=ids, environment_id=simulation.environment_id
        ):
            objects[(kind, found.pk)] = found
    for row in diagnostics.get("reasons", ()):
        obj = objects.get((row["object_type"], row.get("object_id")))
        reasons.append(
            {
                **row,
                "kind_label": _kind_label(row),
                "object": obj,
                "url": _object_url(finder, user, obj) if obj is not None else None,
            }
        )
    diagnostics["reasons"] = reasons
    results["diagnostics"] = diagnostics
    # No contact gets more offers than asked: the ranks beyond stay empty.
    shown = min(results.get("asked", simulation.count), aggregation.RANKS)
    results["rank_numbers"] = range(1, shown + 1)
    results["offers"] = [
        {
            **offer,
            "percent": round(offer["share"] * 100, 1),
            "ranks": offer["ranks"][:shown],
        }
        for offer in results.get("offers", ())
    ]
    return results


#: Whose target filter removed candidates.
FILTER_LABELS = {
    "environment": _("Target filter of the environment"),
    "category": _("Target filter of a category"),
    "offer": _("Target filter of the offer"),
}


def _kind_label(row: dict[str, Any]) -> str:
    if row["kind"] == "filter":
        return str(FILTER_LABELS.get(row["object_type"], KIND_LABELS["filter"]))
    return str(KIND_LABELS.get(row["kind"], row["kind"]))


def _object_url(finder: AdminURLFinder, user, obj) -> str | None:
    """Where ``user`` fixes ``obj``: its edit view, else its inspect view
    (read-only roles), else nowhere."""
    url = finder.get_edit_url(obj)
    if url:
        return url
    viewset = getattr(type(obj), "snippet_viewset", None)
    permission = f"interaction.view_{obj._meta.model_name}"
    if viewset is None or not viewset.inspect_view_enabled:
        return None
    if not user.has_perm(permission, obj):
        return None
    return reverse(viewset.get_url_name("inspect"), args=[quote(obj.pk)])


class SimulationsMenuItem(MenuItem):
    """ "Simulations" in the admin menu, for those who may see them."""

    def is_shown(self, request):
        return request.user.has_perm(SEE)


def menu_item() -> SimulationsMenuItem:
    return SimulationsMenuItem(
        _("Simulations"),
        reverse(f"{NAMESPACE}:index"),
        name="interaction-simulations",
        icon_name="crosshairs",
        order=260,
    )
