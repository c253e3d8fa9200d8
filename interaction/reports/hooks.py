"""The reports' admin hooks (imported by ``interaction.wagtail_hooks``): their
URLs, their items in Wagtail's *Reports* menu, the dashboard panel."""

from __future__ import annotations

from django.urls import reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from ..rules import REPORTS_PERMISSION
from . import dashboard, views

#: After Wagtail's own reports (700 to 1200).
MENU_ORDER = 1300


class ReportMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(REPORTS_PERMISSION)


@hooks.register("register_admin_urls")
def register_report_urls():
    return views.admin_urls()


def _menu_item(view, icon: str, offset: int) -> ReportMenuItem:
    return ReportMenuItem(
        view.page_title,
        reverse(f"{views.NAMESPACE}:{view.report_name}"),
        name=f"interaction-{view.report_name}",
        icon_name=icon,
        order=MENU_ORDER + offset,
    )


@hooks.register("register_reports_menu_item")
def register_offer_analysis_menu_item():
    return _menu_item(views.OfferAnalysisView, "tag", 0)


@hooks.register("register_reports_menu_item")
def register_proposition_history_menu_item():
    return _menu_item(views.PropositionHistoryView, "history", 1)


@hooks.register("register_reports_menu_item")
def register_capping_menu_item():
    return _menu_item(views.CappingView, "time", 2)


@hooks.register("construct_homepage_panels")
def add_dashboard_panel(request, panels):
    if dashboard.is_shown(request.user):
        panels.append(dashboard.InteractionPanel(request.user))
