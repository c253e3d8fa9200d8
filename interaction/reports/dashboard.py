"""The Interaction panel of the admin home: the last 7 days of the user's
environments (propositions, acceptance rate, top offers, live offers that got
no proposition), for the Interaction roles (whoever may view offers)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.ui.components import Component

from ..models import Offer, Proposition
from ..rules import REPORTS_PERMISSION
from . import queries
from .views import object_url

DAYS = 7
TOP_OFFERS = 5
#: At most this many idle offers are listed (the count says how many there are).
IDLE_OFFERS = 10
ORDER = 150  # above Wagtail's own panels (210 and up)
TEMPLATE = "interaction/reports/dashboard_panel.html"


def is_shown(user) -> bool:
    return user.has_perm("interaction.view_offer") or user.has_perm(REPORTS_PERMISSION)


def figures(user, now: datetime.datetime | None = None) -> dict[str, Any]:
    """What the panel shows: three grouped queries and one ``NOT EXISTS``."""
    since = (now or timezone.now()) - datetime.timedelta(days=DAYS)
    recent = Proposition.objects.for_user(user).filter(event_date__gte=since)
    top = list(queries.decorate(queries.offer_analysis(recent)[:TOP_OFFERS]))
    finder = AdminURLFinder(user)
    for row in top:
        row["offer_url"] = object_url(finder, user, row["offer"])
    idle = (
        Offer.objects.for_user(user)
        .live()
        .filter(expired=False)
        .exclude(
            Exists(
                Proposition.objects.filter(
                    offer_id=OuterRef("pk"), event_date__gte=since
                )
            )
        )
        .order_by("label")
    )
    idle_count = idle.count()
    idle_offers = [
        {"offer": offer, "url": object_url(finder, user, offer)}
        for offer in idle[:IDLE_OFFERS]
    ]
    return {
        "days": DAYS,
        "totals": queries.totals(recent),
        "top": top,
        "idle_offers": idle_offers,
        "idle_count": idle_count,
        "idle_more": max(idle_count - len(idle_offers), 0),
    }


class InteractionPanel(Component):
    name = "interaction"
    order = ORDER
    template_name = TEMPLATE

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        context = figures(self.user)
        if self.user.has_perm(REPORTS_PERMISSION):
            context["report_url"] = reverse("interaction_reports:offers")
        return context
