"""Choose the contact an offer's preview computes its weight for.

The offer preview is drawn in an iframe that Wagtail reloads on every edit,
without the query string, so the choice is kept in the session (per
environment, :data:`~interaction.delivery.weight_check.SESSION_KEY`) and every
later preview of the environment's offers shows the weight for that contact.

What changes that choice is a POST with Django's CSRF token: a link or an
image from another site cannot change an admin's preview contact. ``q=text``
chooses the contact whose primary key is the text, or the single contact of
the dimension whose targetable text fields contain it; ``choose=<pk>`` and
``clear=1`` choose or forget. Each returns to ``next`` (the preview), or to
the same-site page the form was on; several matches (or none) lead to the
listing instead. ``GET ?q=text`` lists the matches to choose from, each with
its own POST button, and changes nothing.
"""

from __future__ import annotations

import functools
import operator

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.permissions import policy_registry

from ..delivery.weight_check import SESSION_KEY
from ..engine.conditions import TEXT
from ..models import Environment, Offer

URL_NAME = "interaction_preview_contact"
#: Contacts listed for one search.
MAX_RESULTS = 20


def _next_url(request) -> str:
    """Where to return: ``next``, or the same-site page the search came from."""
    if next_url := get_valid_next_url_from_request(request):
        return next_url
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}
    ):
        return referer
    return ""


def contact_by_pk(model, text: str):
    """The contact of ``model`` whose primary key is ``text``, or ``None``."""
    if not text:
        return None
    try:
        pk = model._meta.pk.to_python(text)
        return model._default_manager.filter(pk=pk).first()
    except (ValidationError, ValueError, OverflowError):
        return None


def search_contacts(environment: Environment, query: str) -> list:
    """Up to :data:`MAX_RESULTS` contacts of ``environment``'s dimension
    whose targetable text fields contain ``query``."""
    model = environment.dimension_model
    lookups = [
        Q(**{f"{name}__icontains": query})
        for name, spec in environment.condition_schema().contact_fields.items()
        if spec.kind == TEXT
    ]
    if model is None or not query or not lookups:
        return []
    return list(
        model._default_manager.filter(functools.reduce(operator.or_, lookups))
        .order_by("pk")
        .distinct()[:MAX_RESULTS]
    )


def find_contacts(environment: Environment, query: str) -> list:
    """The contacts a preview's "Find a contact" lists for ``query``: the
    contact whose id it is first, then those :func:`search_contacts` finds."""
    model = environment.dimension_model
    if model is None or not query:
        return []
    contacts = search_contacts(environment, query)
    exact = contact_by_pk(model, query)
    if exact is not None and exact not in contacts:
        contacts.insert(0, exact)
    return contacts


@method_decorator(xframe_options_sameorigin, name="dispatch")
class PreviewContactView(View):
    """Chooses the contact of an offer preview's weight check. Its pages show
    inside Wagtail's preview panel (an iframe of this site), as the preview
    does."""

    def dispatch(self, request, *args, **kwargs):
        policy = policy_registry.get_by_type(Offer)
        # Whoever previews offers: editors, and approvers checking a weight.
        if not policy.user_has_any_permission(request.user, ["add", "change", "view"]):
            raise PermissionDenied
        self.environment = get_object_or_404(
            Environment.objects.for_user(request.user), pk=kwargs["environment_id"]
        )
        self.model = self.environment.dimension_model
        if self.model is None:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        query = request.GET.get("q", "").strip()
        contacts = find_contacts(self.environment, query)
        return TemplateResponse(
            request,
            "interaction/previews/choose_contact.html",
            {
                "environment": self.environment,
                "dimension": self.model._meta.verbose_name_plural,
                "query": query,
                "contacts": contacts,
                "capped": len(contacts) >= MAX_RESULTS,
                "next": _next_url(request),
            },
        )

    def post(self, request, *args, **kwargs):
        next_url = _next_url(request)
        if "clear" in request.POST:
            return self._choose(None, next_url)
        chosen = contact_by_pk(self.model, request.POST.get("choose", ""))
        if chosen is not None:
            return self._choose(chosen.pk, next_url)
        query = request.POST.get("q", "").strip()
        # An id is that contact, even if other contacts' texts contain it.
        if (chosen := contact_by_pk(self.model, query)) is not None:
            return self._choose(chosen.pk, next_url)
        contacts = search_contacts(self.environment, query)
        if len(contacts) == 1:
            return self._choose(contacts[0].pk, next_url)
        # Redirected rather than rendered: reloading the listing posts nothing.
        listing = {"q": query, "next": next_url} if next_url else {"q": query}
        return HttpResponseRedirect(f"{request.path}?{urlencode(listing)}")

    def _choose(self, pk, next_url: str):
        chosen = dict(self.request.session.get(SESSION_KEY, {}))
        if pk is None:
            chosen.pop(str(self.environment.pk), None)
        else:
            chosen[str(self.environment.pk)] = str(pk)
        self.request.session[SESSION_KEY] = chosen
        return HttpResponseRedirect(next_url or self.request.path)
