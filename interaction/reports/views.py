"""The Interaction reports (SPEC §7), as Wagtail report views.

- *Offer analysis*: per offer (and day, space or campaign), propositions,
  presented, accepted and rejected (n and %), and a chart of those per day;
- *Proposition history*: every proposition, filterable, each row linked to
  its offer and (where the user may open it) its contact;
- *Capping*: each capped offer's budget used per period.

All three are for the users holding ``interaction.view_reports``
(:mod:`interaction.rules`: delivery managers and administrators), show only
the propositions of the environments the user works in, filter in the side
panel, and export CSV or XLSX (streamed, :mod:`.exports`). Figures are
grouped in the database (:mod:`.queries`).
"""

from __future__ import annotations

import datetime
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.admin.utils import quote
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn, TitleColumn
from wagtail.admin.views.reports import ReportView

from ..models import CapUsage, Environment, Proposition
from ..models.choices import Channel
from ..rules import REPORTS_PERMISSION, environment_ids_for
from . import queries
from .exports import GroupedRows, Rows, StreamingExportMixin
from .filters import (
    CapUsageFilterSet,
    OfferAnalysisFilterSet,
    PropositionHistoryFilterSet,
)

NAMESPACE = "interaction_reports"


def object_url(finder: AdminURLFinder, user, obj) -> str | None:
    """Where ``user`` opens ``obj`` in the admin: its edit view, else its
    inspect view (view-only roles, e.g. delivery managers on offers), else
    nowhere (``None``)."""
    if obj is None:
        return None
    url = finder.get_edit_url(obj)
    if url:
        return url
    viewset = getattr(obj, "snippet_viewset", None)
    if viewset is None or not viewset.inspect_view_enabled:
        return None
    opts = obj._meta
    if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}", obj):
        return None
    return reverse(viewset.get_url_name("inspect"), args=[quote(obj.pk)])


class InteractionReportView(StreamingExportMixin, ReportView):
    """A report only ``interaction.view_reports`` opens (a report without a
    permission policy would be open to every admin user)."""

    permission_required = "view"
    header_icon = "table"
    report_name = ""

    def user_has_permission(self, permission):
        return self.request.user.has_perm(REPORTS_PERMISSION)

    @property
    def index_url_name(self):
        return f"{NAMESPACE}:{self.report_name}"

    @property
    def index_results_url_name(self):
        return f"{NAMESPACE}:{self.report_name}_results"

    def get_filename(self):
        return f"{self.report_name}-{timezone.localdate():%Y-%m-%d}"

    def propositions(self):
        return Proposition.objects.for_user(self.request.user)

    @cached_property
    def url_finder(self) -> AdminURLFinder:
        return AdminURLFinder(self.request.user)

    def object_url(self, obj) -> str | None:
        return object_url(self.url_finder, self.request.user, obj)

    @cached_property
    def export_columns(self) -> OrderedDict[str, tuple[str, Callable[[Any], Any]]]:
        return OrderedDict()

    @property
    def list_export(self):
        return list(self.export_columns)

    @property
    def export_headings(self):
        return {name: str(label) for name, (label, _get) in self.export_columns.items()}

    def get(self, request, *args, **kwargs):
        if self.is_export:
            # Only the rows: the page's context (its table, counts and chart)
            # would read and decorate every exported row a second time.
            rows = self.export_rows(self.get_filtered_queryset())
            return self.as_spreadsheet(rows, request.GET.get("export"))
        return super().get(request, *args, **kwargs)

    def get_table(self, object_list):
        # Wagtail builds the table before ``decorate_paginated_queryset``.
        self.page_rows = self.decorate_page(list(object_list))
        return super().get_table(self.page_rows)

    def decorate_page(self, rows: list) -> list:
        """The page's rows as the table shows them."""
        return rows

    def export_rows(self, object_list) -> Rows:
        return Rows(object_list)

    def decorate_paginated_queryset(self, object_list):
        return self.page_rows

    def to_row_dict(self, item):
        return OrderedDict(
            (name, get(item)) for name, (_label, get) in self.export_columns.items()
        )


def _number(name: str, label: Any) -> NumberColumn:
    return NumberColumn(name, label=label)


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


class OfferAnalysisView(InteractionReportView):
    page_title = _("Offer analysis")
    report_name = "offers"
    header_icon = "tag"
    filterset_class = OfferAnalysisFilterSet
    results_template_name = "interaction/reports/offer_analysis_results.html"

    @cached_property
    def grouping(self) -> str:
        filters = self.filters
        return filters.grouping if filters is not None else queries.BY_OFFER

    @cached_property
    def filtered_propositions(self):
        return self.filter_queryset(self.propositions())

    def get_filtered_queryset(self):
        rows = queries.offer_analysis(self.filtered_propositions, self.grouping)
        if self.is_export:
            return rows  # streamed
        # The page's slice and the number of rows in one statement: a
        # paginated queryset would group every row again for its COUNT.
        limit = self.get_paginate_by(rows)
        try:
            number = max(int(self.request.GET.get(self.page_kwarg) or 1), 1)
        except ValueError:
            number = 1
        return queries.GroupedPage(rows, self.grouping, (number - 1) * limit, limit)

    def export_rows(self, object_list) -> Rows:
        return Rows(queries.decorate(GroupedRows(object_list)), model=Proposition)

    def decorate_page(self, rows):
        rows = list(queries.decorate(rows))
        for row in rows:
            offer = row["offer"]
            row["offer_url"] = offer and self.object_url(offer)
        return rows

    @cached_property
    def _group_columns(self) -> list[tuple[str, Any, Callable[[dict], Any]]]:
        if self.grouping == queries.BY_DAY:
            return [("day", _("Day"), lambda row: _day(row["day"]))]
        if self.grouping == queries.BY_SPACE:
            return [("space", _("Space"), lambda row: row["space"])]
        if self.grouping == queries.BY_CAMPAIGN:
            return [("campaign", _("Campaign"), lambda row: row["campaign"])]
        return []

    @cached_property
    def columns(self):
        return [
            TitleColumn(
                "offer_label",
                label=_("Offer"),
                get_url=lambda row: row.get("offer_url"),
            ),
            Column("offer_code", label=_("Code")),
            Column("offer_state", label=_("State")),
            Column("environment_label", label=_("Environment")),
            *(
                Column(name, label=label, accessor=get)
                for name, label, get in self._group_columns
            ),
            _number("propositions", _("Propositions")),
            _number("presented", _("Presented")),
            _number("accepted", _("Accepted")),
            Column("accepted_rate", label=_("Accepted %")),
            _number("rejected", _("Rejected")),
            Column("rejected_rate", label=_("Rejected %")),
        ]

    @cached_property
    def export_columns(self):
        columns: OrderedDict[str, tuple[Any, Callable[[Any], Any]]] = OrderedDict(
            [
                ("environment", (_("Environment"), lambda row: row["environment"])),
                ("offer_code", (_("Offer code"), lambda row: row["offer_code"])),
                ("offer_label", (_("Offer"), lambda row: row["offer_label"])),
                ("offer_state", (_("State"), lambda row: row["offer_state"])),
            ]
        )
        for name, label, get in self._group_columns:
            columns[name] = (label, get)
        for name in queries.FIGURES:
            columns[name] = (name.capitalize(), _getter(name))
            if name != "propositions":
                columns[f"{name}_rate"] = (
                    f"{name.capitalize()} %",
                    _getter(f"{name}_rate"),
                )
        return columns

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        if self.grouping == queries.BY_DAY:
            days = self.object_list.days
        else:
            days = queries.over_time(self.filtered_propositions)
        context["over_time"] = days
        context["totals"] = queries.sum_rows(days)
        return context


def _getter(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name]


class PropositionHistoryView(InteractionReportView):
    page_title = _("Proposition history")
    report_name = "propositions"
    header_icon = "history"
    filterset_class = PropositionHistoryFilterSet

    def get_queryset(self):
        return (
            self.propositions()
            .select_related("environment", "space", "campaign", "offer")
            .order_by("-event_date", "-id")
        )

    def get_filtered_queryset(self):
        return self.filter_queryset(self.get_queryset())

    def decorate_page(self, rows):
        contact_urls = self.contact_urls(rows)
        for row in rows:
            row.offer_url = self.object_url(row.offer)
            row.offer_text = row.offer.label if row.offer else row.offer_code
            row.contact_url = contact_urls.get((row.environment_id, row.contact_key))
        return rows

    def contact_urls(self, rows: Iterable[Proposition]) -> dict[tuple[int, str], str]:
        """The admin URLs of the rows' contacts the user may open (one query
        per dimension), by (environment id, contact key)."""
        keys: dict[int, set[str]] = {}
        for row in rows:
            if row.contact_key:
                keys.setdefault(row.environment_id, set()).add(row.contact_key)
        urls: dict[tuple[int, str], str] = {}
        for environment in Environment.objects.filter(pk__in=keys):
            model = environment.dimension_model
            if model is None:
                continue
            field = model._meta.pk
            wanted = []
            for key in keys[environment.pk]:
                try:
                    wanted.append(field.to_python(key))
                except Exception:  # a key that is not this model's id
                    continue
            for contact in model._default_manager.filter(pk__in=wanted):
                url = self.url_finder.get_edit_url(contact)
                if url:
                    urls[(environment.pk, str(contact.pk))] = url
        return urls

    columns = [
        DateColumn("event_date", label=_("Date")),
        TitleColumn("offer_text", label=_("Offer"), get_url=lambda row: row.offer_url),
        TitleColumn(
            "contact_key", label=_("Contact"), get_url=lambda row: row.contact_url
        ),
        Column("visitor_id", label=_("Visitor")),
        Column("space", label=_("Space")),
        Column("campaign", label=_("Campaign")),
        Column("channel", label=_("Channel"), accessor="get_channel_display"),
        NumberColumn("rank", label=_("Rank")),
        Column("status", label=_("Status"), accessor="get_status_display"),
        Column("environment", label=_("Environment")),
    ]

    def export_rows(self, object_list) -> Rows:
        # Dicts, not instances: building a proposition, its offer, space and
        # campaign page per row was most of a large export's time.
        fields = [field for _name, _label, field in HISTORY_EXPORT]
        return Rows(object_list.values(*fields), model=Proposition)

    @cached_property
    def export_columns(self):
        return OrderedDict(
            (name, (label, _text(field) if "__" in field else _getter(field)))
            for name, label, field in HISTORY_EXPORT
        )


#: The proposition history's export: each column's name, heading and the
#: ``values()`` field it writes (a related one is empty when there is none).
HISTORY_EXPORT = (
    ("id", _("Id"), "id"),
    ("event_date", _("Date"), "event_date"),
    ("environment", _("Environment"), "environment__code"),
    ("contact_key", _("Contact"), "contact_key"),
    ("visitor_id", _("Visitor"), "visitor_id"),
    ("offer_code", _("Offer code"), "offer_code"),
    ("space", _("Space"), "space__code"),
    ("campaign", _("Campaign"), "campaign__title"),
    ("channel", _("Channel"), "channel"),
    ("rank", _("Rank"), "rank"),
    ("weight", _("Weight"), "weight"),
    ("status", _("Status"), "status"),
    ("last_modified", _("Last modified"), "last_modified"),
)


def _text(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name] or ""


class CappingView(InteractionReportView):
    page_title = _("Capping")
    report_name = "capping"
    header_icon = "time"
    filterset_class = CapUsageFilterSet

    def get_queryset(self):
        usages = CapUsage.objects.select_related(
            "rule", "rule__environment", "offer"
        ).order_by("-period_start", "rule__code", "offer__code")
        user = self.request.user
        if not user.is_superuser:
            usages = usages.filter(rule__environment_id__in=environment_ids_for(user))
        return usages

    def get_filtered_queryset(self):
        return self.filter_queryset(self.get_queryset())

    def decorate_page(self, rows):
        for row in rows:
            row.offer_url = self.object_url(row.offer)
        return rows

    columns = [
        TitleColumn("offer", label=_("Offer"), get_url=lambda row: row.offer_url),
        Column("rule", label=_("Rule")),
        Column("environment", label=_("Environment"), accessor="rule.environment"),
        Column("channel", label=_("Channel"), accessor=lambda row: channel_text(row)),
        Column(
            "period",
            label=_("Period"),
            accessor=lambda row: period_text(row),
            classname="w-whitespace-nowrap",
        ),
        NumberColumn("used", label=_("Used")),
        NumberColumn("cap", label=_("Budget")),
        Column(
            "share",
            label=_("Used %"),
            accessor=lambda row: queries.rate(row.used, row.cap),
        ),
    ]

    @cached_property
    def export_columns(self):
        return OrderedDict(
            [
                (
                    "environment",
                    (_("Environment"), lambda row: row.rule.environment.code),
                ),
                ("rule", (_("Rule"), lambda row: row.rule.code)),
                ("offer", (_("Offer code"), lambda row: row.offer.code)),
                ("channel", (_("Channel"), lambda row: row.channel)),
                ("period_start", (_("Period start"), lambda row: row.period_start)),
                ("period_end", (_("Period end"), period_end)),
                ("used", (_("Used"), lambda row: row.used)),
                ("cap", (_("Budget"), lambda row: row.cap)),
                ("share", (_("Used %"), lambda row: queries.rate(row.used, row.cap))),
            ]
        )


def period_end(usage: CapUsage) -> datetime.datetime:
    rule = usage.rule
    return usage.period_start + datetime.timedelta(
        days=rule.period_days, hours=rule.period_hours
    )


def channel_text(usage: CapUsage) -> str:
    """The channel a budget counts, by its label; "All channels" for a rule
    that counts every channel together (its usages' channel is ``""``)."""
    if not usage.channel:
        return str(_("All channels"))
    if usage.channel in Channel.values:
        return str(Channel(usage.channel).label)
    return usage.channel


def period_text(usage: CapUsage) -> str:
    start = timezone.localtime(usage.period_start)
    end = timezone.localtime(period_end(usage))
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M}"


REPORTS = (OfferAnalysisView, PropositionHistoryView, CappingView)


def admin_urls():
    """Both URLs of each report (the page, and its results for the filters'
    refresh), for the ``register_admin_urls`` hook."""
    from django.urls import include

    patterns = []
    for view in REPORTS:
        name = view.report_name
        patterns += [
            path(f"{name}/", view.as_view(), name=name),
            path(
                f"{name}/results/",
                view.as_view(results_only=True),
                name=f"{name}_results",
            ),
        ]
    return [path("reports/interaction/", include((patterns, NAMESPACE)))]
