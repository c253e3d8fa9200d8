import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    PublishingPanel,
    TabbedInterface,
)
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn
from wagtail.snippets.views import snippets as snippet_views

from ..models import Environment, Offer, OfferCategory, OfferSpace
from ..models.choices import Channel
from .forms import OfferForm
from .reviews import ReviewFieldPanel, ReviewsViewSetMixin
from .scoping import (
    EnvironmentScopedFilterSet,
    EnvironmentScopedInlinePanel,
    EnvironmentScopedViewSet,
)
from .serving import ServingWarningsViewSetMixin


class OfferWorkflowActionView(snippet_views.WorkflowActionView):
    """Approving publishes; if publishing is refused, the approval is undone.

    A space may have gained a required content field since the offer was
    submitted: the approver then sees why, and the offer stays in moderation.
    """

    def post(self, request, *args, **kwargs):
        try:
            with transaction.atomic():
                return super().post(request, *args, **kwargs)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            if request.headers.get("x-requested-with") == "XMLHttpRequest":
                return self.render_modal_json(
                    request, {"step": "success", "redirect": self.redirect_url}
                )
            return redirect(self.redirect_url)


class OfferFilterSet(EnvironmentScopedFilterSet):
    environment = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.all(), label=_("Environment")
    )
    category = django_filters.ModelChoiceFilter(
        queryset=OfferCategory.objects.all(), label=_("Category")
    )
    live = django_filters.BooleanFilter(label=_("Live"))
    spaces = django_filters.ModelChoiceFilter(
        queryset=OfferSpace.objects.all(), label=_("Space")
    )
    channel = django_filters.ChoiceFilter(
        field_name="spaces__channel",
        choices=Channel.choices,
        label=_("Channel"),
        distinct=True,
    )

    class Meta:
        model = Offer
        fields = ["environment", "category", "live", "spaces", "channel"]


class OfferViewSet(
    ReviewsViewSetMixin, ServingWarningsViewSetMixin, EnvironmentScopedViewSet
):
    model = Offer
    icon = "tag"
    menu_label = _("Offers")
    menu_order = 300
    list_display = [
        "label",
        "code",
        "category",
        "environment",
        LiveStatusTagColumn(),
        UpdatedAtColumn(),
    ]
    filterset_class = OfferFilterSet
    list_export = [
        "code",
        "label",
        "title",
        "category",
        "environment",
        "live",
        "expired",
        "has_unpublished_changes",
        "go_live_at",
        "expire_at",
        "last_published_at",
        "destination_url",
    ]
    workflow_action_view_class = OfferWorkflowActionView
    search_fields = ["code", "label", "title"]
    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    FieldPanel("category", widget=forms.Select),
                    FieldPanel("label"),
                    FieldPanel("code"),
                    FieldPanel("description"),
                    FieldPanel("spaces", widget=forms.CheckboxSelectMultiple),
                ],
                heading=_("Offer"),
            ),
            ObjectList(
                [
                    FieldPanel("title"),
                    FieldPanel("destination_url"),
                    FieldPanel("image"),
                    FieldPanel("html_content"),
                    FieldPanel("text_content"),
                ],
                heading=_("Content"),
            ),
            ObjectList(
                [
                    MultiFieldPanel(
                        [
                            FieldRowPanel(
                                [
                                    ReviewFieldPanel("start_date"),
                                    ReviewFieldPanel("end_date"),
                                ]
                            )
                        ],
                        heading=_("Eligibility dates"),
                    ),
                    FieldPanel("target_filter"),
                    EnvironmentScopedInlinePanel(
                        "weights",
                        heading=_("Weights"),
                        label=_("Weight"),
                        help_text=_(
                            "With no rows the weight is 1. Otherwise the highest row "
                            "that applies gives the weight; 0 or less excludes "
                            "the offer."
                        ),
                        panels=[
                            FieldPanel("label"),
                            FieldPanel("value"),
                            FieldRowPanel(
                                [
                                    ReviewFieldPanel("start_date"),
                                    ReviewFieldPanel("end_date"),
                                ]
                            ),
                            ReviewFieldPanel("space", widget=forms.Select),
                            FieldPanel("target_filter"),
                        ],
                    ),
                ],
                heading=_("Targeting"),
            ),
            ObjectList([PublishingPanel()], heading=_("Publishing")),
        ],
        base_form_class=OfferForm,
    )
