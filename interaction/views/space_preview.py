"""Preview a space for a chosen contact: every candidate, its weight, rank, reason."""

import json
from typing import cast

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permissions import policy_registry

from ..delivery.propose import propose
from ..engine.call import ID_SEPARATOR, MAX_COUNT, Call
from ..engine.catalogue import split_themes
from ..engine.errors import EngineError
from ..models import Offer, OfferCategory, OfferSpace
from .get_form import GetFormView
from .preview_contact import find_contacts


class SpacePreviewForm(forms.Form):
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        help_text=_(
            "The contact's id as the space identifies it (fields joined by |), "
            "or find one by name or e-mail above."
        ),
    )
    visitor = forms.CharField(label=_("Visitor id"), required=False)
    category = forms.ModelChoiceField(
        queryset=OfferCategory.objects.none(), required=False, label=_("Category")
    )
    themes = forms.CharField(
        label=_("Themes"), required=False, help_text=_("Comma-separated.")
    )
    count = forms.IntegerField(
        label=_("Count"), min_value=1, max_value=MAX_COUNT, initial=3
    )
    date = forms.DateTimeField(
        label=_("Contact date"), required=False, help_text=_("Empty: now.")
    )
    context = forms.CharField(
        label=_("Call context"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_('A JSON object, e.g. {"language": "fr"}'),
    )

    def __init__(self, *args, space, **kwargs):
        super().__init__(*args, **kwargs)
        category = cast(forms.ModelChoiceField, self.fields["category"])
        category.queryset = OfferCategory.objects.filter(environment=space.environment)

    def clean_context(self):
        text = self.cleaned_data["context"].strip()
        try:
            value = json.loads(text) if text else {}
        except ValueError as error:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s") % {"error": error}
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The context is a JSON object."))
        return value


class SpacePreviewView(WagtailAdminTemplateMixin, GetFormView):
    template_name = "interaction/admin/space_preview.html"
    form_class = SpacePreviewForm
    header_icon = "placeholder"
    bound_by = "count"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.space = get_object_or_404(OfferSpace, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        policy = policy_registry.get_by_type(OfferSpace)
        if not policy.user_has_permission_for_instance(
            request.user, "change", self.space
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Preview of %(space)s") % {"space": self.space.label}

    def get_breadcrumbs_items(self):
        viewset = OfferSpace.snippet_viewset
        return self.breadcrumbs_items + [
            {"url": reverse(viewset.get_url_name("list")), "label": _("Spaces")},
            {
                "url": reverse(viewset.get_url_name("edit"), args=[self.space.pk]),
                "label": self.space.label,
            },
            {"url": "", "label": _("Preview for a contact")},
        ]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["space"] = self.space
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["find"] = self.request.GET.get("find", "").strip()
        context["found"] = self._found(context["find"])
        return context

    def _found(self, query: str) -> list[tuple[object, str]]:
        """The contacts a search finds, each with the link that previews the
        space for it (its id as the space identifies contacts)."""
        contacts = find_contacts(self.space.environment, query)
        fields = self.space.identification_field_list
        found = []
        for contact in contacts:
            params = self.request.GET.copy()
            params.pop("find", None)
            params["contact"] = ID_SEPARATOR.join(
                str(contact.pk if name == "pk" else getattr(contact, name, ""))
                for name in fields
            )
            params.setdefault("count", str(min(3, self.space.max_offers or 3)))
            found.append((contact, "?" + params.urlencode()))
        return found

    def form_valid(self, form):
        data = form.cleaned_data
        call = Call(
            space=self.space.code,
            contact=data["contact"] or None,
            visitor=data["visitor"] or None,
            count=data["count"],
            category=data["category"].code if data["category"] else None,
            themes=split_themes(data["themes"]),
            context=data["context"],
            date=data["date"] or timezone.now(),
            real_time=False,
        )
        try:
            result = propose(call, store=False)
        except EngineError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        return self.render_to_response(
            self.get_context_data(
                form=form,
                result=result,
                trace=trace_rows(result),
                notices=self._notices(data, result),
            )
        )

    def _notices(self, data, result) -> list[str]:
        """What the call did that the editor did not ask for."""
        notices = []
        if data["count"] > self.space.offer_limit:
            notices.append(
                _(
                    "%(asked)d offers were asked for; this space shows at most "
                    "%(max)d, so at most %(max)d were kept."
                )
                % {"asked": data["count"], "max": self.space.offer_limit}
            )
        if data["contact"] and not result.identified and not result.reason:
            notices.append(
                _(
                    "Contact “%(contact)s” not found: served as an anonymous "
                    "visitor through the fallback space “%(space)s”."
                )
                % {"contact": data["contact"], "space": result.space_code}
            )
        return notices


def trace_rows(result) -> list[dict]:
    """The call's decisions, kept first, each with its offer's label and edit
    URL (offers of the environment of the space that served the call); the
    space preview's trace and the campaign preview's dropped offers."""
    codes = {decision.offer_code for decision in result.trace}
    space = OfferSpace.objects.filter(code=result.space_code).first()
    offers = {}
    if space is not None and codes:
        offers = {
            offer.code: offer
            for offer in Offer.objects.filter(
                environment_id=space.environment_id, code__in=codes
            )
        }
    edit = Offer.snippet_viewset.get_url_name("edit")
    decisions = sorted(result.trace, key=lambda d: (not d.kept, d.rank or 0))
    return [
        {
            "decision": decision,
            "label": offer.label if offer else decision.offer_code,
            "url": reverse(edit, args=[offer.pk]) if offer else "",
        }
        for decision in decisions
        for offer in [offers.get(decision.offer_code)]
    ]
