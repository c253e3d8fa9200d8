"""A campaign's delivery for one contact (SPEC §6, delivery content).

- :func:`render_body`: the body with the contact's offers at their ranks,
  each rendered through the campaign's space (HTML or plain text): what the
  CSV export and the previews show (``CampaignPage.render_for``).
- :func:`preview`: the engine's answer for one contact with the campaign's
  inputs (an inbound call that is not real-time and stores nothing), and the
  body rendered with it.
- :func:`serve_preview`: Wagtail's preview of a campaign page: the body for
  its preview contact, or with placeholders.

Offers are read from the compiled live catalogue; one that is no longer live
(a stored proposition's) from the database.
"""

from __future__ import annotations

import datetime
import functools
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from wagtail.rich_text import expand_db_html

from .blocks import PROPOSITIONS

if TYPE_CHECKING:
    from ..delivery.propose import PropositionsResult
    from ..models import CampaignPage


@dataclass(frozen=True)
class RenderedOffer:
    """One of the contact's offers as the space renders it."""

    rank: int
    html: str
    text: str


def render_body(
    page: CampaignPage,
    contact_key: str | None,
    propositions: Iterable[Any] | None,
    *,
    contact: Mapping[str, Any] | None = None,
    text: bool = False,
) -> str:
    """``page``'s body with the contact's offers at their ranks; ``None``
    propositions: outside a contact, with placeholders. See
    ``CampaignPage.render_for``."""
    offers = None
    if propositions is not None:
        offers = rendered_offers(page, contact_key, propositions, contact=contact)
    if text:
        return _body_text(page, offers)
    context: dict[str, Any] = {"page": page, "contact_key": contact_key}
    if offers is not None:
        context[PROPOSITIONS] = offers
    return mark_safe(  # noqa: S308 - blocks rendered by their own templates
        "\n".join(child.render(context=context).strip() for child in page.body)
    )


def rendered_offers(
    page: CampaignPage,
    contact_key: str | None,
    propositions: Iterable[Any],
    *,
    contact: Mapping[str, Any] | None = None,
) -> dict[int, RenderedOffer]:
    """Rank -> the offer rendered through the page's space."""
    from ..delivery.propose import TrackedLinks
    from ..delivery.rendering import offer_context, render_offer
    from ..delivery.rendering import uses_default_templates as default_templates
    from ..delivery.snapshot import get_snapshot
    from ..models import Offer

    snapshot = get_snapshot()
    space = snapshot.spaces.get(page.space.code) or page.space
    rendered: dict[int, RenderedOffer] = {}
    tracked_link = TrackedLinks()
    contact_read = contact is not None or default_templates(space)
    for item in propositions:
        rank = int(item.rank)
        ready = getattr(item, "html", None)
        if isinstance(ready, str):  # the engine's rendered proposition
            rendered[rank] = RenderedOffer(rank, ready, getattr(item, "text", ""))
            continue
        offer_id = getattr(item, "offer_id", None)
        if offer_id is None:
            offer_id = item.offer.pk
        offer = snapshot.offers.get(offer_id)
        live = offer is not None
        if offer is None:
            offer = Offer.objects.filter(pk=offer_id).first()
            if offer is None:
                continue
        if default_templates(space):
            # The default templates read the offer only.
            if live:
                output = snapshot.derived.get(
                    ("presentation", space.pk, offer.pk),
                    functools.partial(render_offer, space, offer),
                )
            else:
                output = render_offer(space, offer)
        else:
            if not contact_read:
                contact = _contact_attributes(page, contact_key)
                contact_read = True
            offer_data = offer_context(offer)
            output = render_offer(
                space,
                offer,
                proposition={
                    "id": getattr(item, "id", None),
                    "rank": rank,
                    "weight": getattr(item, "weight", None),
                    # The signed link of a stored proposition, as a call's.
                    "tracked_url": tracked_link(
                        getattr(item, "id", None), offer_data["destination_url"]
                    ),
                },
                contact=contact,
                offer_data=offer_data,
            )
        rendered[rank] = RenderedOffer(rank, output["html"], output["text"])
    return rendered


def _contact_attributes(page: CampaignPage, contact_key: str | None) -> dict | None:
    """The contact's targetable attributes (what space templates may read)."""
    from ..targeting.fields import targetable_fields

    model = page.space.environment.dimension_model
    if model is None or contact_key is None:
        return None
    names = [name for name in targetable_fields(model) if name != "pk"]
    try:
        return model._default_manager.filter(pk=contact_key).values(*names).first()
    except (ValueError, TypeError, ValidationError):
        return None


_BLOCK_END = re.compile(r"</(p|h[1-6]|li|div|tr)>|<br\s*/?>|<hr\s*/?>", re.I)


def html_to_text(source: str) -> str:
    """Rich text as plain text: a line per paragraph, heading or list item."""
    lines = strip_tags(_BLOCK_END.sub("\n", source)).splitlines()
    return "\n".join(html.unescape(line).strip() for line in lines if line.strip())


def _body_text(page: CampaignPage, offers: Mapping[int, RenderedOffer] | None) -> str:
    parts = []
    for child in page.body:
        if child.block_type == "offer":
            rank = child.value.get("rank") or 1
            if offers is None:
                parts.append(placeholder(rank))
            elif rank in offers:
                parts.append(offers[rank].text.strip())
        else:
            parts.append(html_to_text(expand_db_html(str(child.value.source))))
    return "\n\n".join(part for part in parts if part)


def placeholder(rank: int) -> str:
    return "[" + _("The contact’s offer at rank %(rank)d") % {"rank": rank} + "]"


# -- Previews -------------------------------------------------------------------


@dataclass
class CampaignPreview:
    """The campaign for one contact, as a run would compute it."""

    contact_id: str
    #: The contact as its model shows it; empty if not found.
    contact_label: str = ""
    date: datetime.datetime | None = None
    result: PropositionsResult | None = None
    #: Whether the contact matches the campaign's population (``None``: the
    #: population cannot be evaluated, e.g. an invalid condition).
    in_population: bool | None = None
    html: SafeString | str = ""
    text: str = ""
    error: str = ""
    warnings: list[str] = field(default_factory=list)


def preview(page: CampaignPage, contact_id: str) -> CampaignPreview:
    """The engine's answer for the contact whose primary key is
    ``contact_id`` (as in a run's export), with the campaign's inputs."""
    from ..delivery.propose import propose
    from ..engine.call import ID_SEPARATOR, Call
    from ..engine.catalogue import split_themes
    from ..engine.errors import EngineError

    contact_id = str(contact_id).strip()
    result = CampaignPreview(contact_id=contact_id)
    space = page.space
    model = space.environment.dimension_model
    if model is None:
        result.error = _("The space's environment has no contacts.")
        return result
    fields = space.identification_field_list
    try:
        row = model._default_manager.filter(pk=contact_id).first()
        values = (
            model._default_manager.filter(pk=contact_id).values_list(*fields).first()
        )
    except (ValueError, TypeError, ValidationError):
        row = values = None
    if row is None or values is None:
        result.error = _("No contact has the id “%(id)s”.") % {"id": contact_id}
        return result
    result.contact_label = str(row)
    result.date = page.contact_date or timezone.now()
    offer_ids = [offer.pk for offer in page.offers.all()]
    call = Call(
        space=space.code,
        contact=ID_SEPARATOR.join(str(value) for value in values),
        count=page.count,
        category=page.category.code if page.category is not None else None,
        themes=split_themes(page.themes),
        date=result.date,
        real_time=False,
    )
    try:
        answer = propose(call, store=False, offers=offer_ids or None)
    except EngineError as error:
        result.error = str(error)
        return result
    result.result = answer
    key = str(row.pk)
    result.html = render_body(page, key, answer.propositions)
    result.text = render_body(page, key, answer.propositions, text=True)
    result.in_population = in_population(page, row.pk, result.date)
    if result.in_population is False:
        result.warnings.append(
            _("This contact is not in the campaign's population: a run leaves it out.")
        )
    if page.exclude_fewer and len(answer.propositions) < page.count:
        result.warnings.append(
            _(
                "This contact gets fewer than %(count)d offers: a run leaves it out "
                "(“exclude contacts who get fewer offers”)."
            )
            % {"count": page.count}
        )
    return result


def in_population(page: CampaignPage, pk: Any, date: datetime.datetime) -> bool | None:
    """Whether the contact ``pk`` matches the page's population at ``date``,
    in SQL as a run selects its population."""
    from ..engine.conditions import validate_condition
    from ..engine.errors import InvalidDefinition
    from ..targeting.sql import condition_q

    if not page.population:
        return True
    environment = page.space.environment
    schema = environment.condition_schema(allow_context=False)
    try:
        validate_condition(page.population, schema)
    except InvalidDefinition:
        return None
    kinds = {name: spec.kind for name, spec in schema.contact_fields.items()}
    query = condition_q(page.population, kinds, date.date())
    model = environment.dimension_model
    return model._default_manager.filter(pk=pk).filter(query).exists()


def serve_preview(page: CampaignPage, request, mode_name: str) -> TemplateResponse:
    """Wagtail's preview (the editor's side panel, the preview button): the
    body for the page's preview contact, or with placeholders."""
    contact_id = (page.preview_contact or "").strip()
    context: dict[str, Any] = {
        "page": page,
        "request": request,
        "text_mode": mode_name == "text",
        "preview": preview(page, contact_id) if contact_id else None,
    }
    if context["preview"] is None:
        context["html"] = render_body(page, None, None)
        context["text"] = render_body(page, None, None, text=True)
    return TemplateResponse(request, "interaction/campaigns/preview.html", context)
