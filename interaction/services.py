"""Entry points of the offer engine for Django code: propose, store, update.

The API, the template tag, the blocks and the previews all call :func:`propose`;
the pure engine (:mod:`interaction.engine`) does the choosing, this module adds
the compiled snapshot, the database readers, rendering and storage (steps 8-9).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from wagtail.rich_text import expand_db_html

from .engine import core
from .engine.call import Call, Decision, Outcome, Proposal
from .engine.catalogue import Catalogue, index_by_space
from .engine.typology import applicable_rules
from .history import ContactDirectory, DatabaseHistory
from .models import Offer, Proposition
from .models.space import PropositionStatus
from .rendering import render_offer, uses_default_templates
from .snapshot import Snapshot, get_snapshot


@dataclass
class RenderedProposition:
    id: int | None
    rank: int
    weight: float
    offer: Offer
    category_code: str
    content: dict[str, Any]
    html: str
    text: str


@dataclass
class PropositionsResult:
    interaction_id: uuid.UUID
    identified: bool
    space_code: str
    propositions: list[RenderedProposition] = field(default_factory=list)
    reason: str = ""
    trace: list[Decision] = field(default_factory=list)
    stored: bool = False


def propose(
    call: Call,
    *,
    store: bool | None = None,
    campaign=None,
    offers: Collection[int] | None = None,
) -> PropositionsResult:
    """Run the engine for ``call``, then render and (per the space) store.

    ``offers`` (ids of chosen live offers, e.g. the offer block's): only they
    are candidates, in scope whatever the call's category or themes, and no
    arbitration limits them; eligibility and typology rules still apply.

    Raises :class:`interaction.engine.call.UnknownSpace` or ``SpaceNotUnitary``.
    """
    snapshot = get_snapshot()
    catalogue = snapshot.catalogue
    if offers is not None:
        offers = frozenset(offers)
        catalogue = snapshot.restricted.get(offers)
        if catalogue is None:
            catalogue = snapshot.restricted[offers] = _only_offers(
                snapshot.catalogue, offers
            )
        call = dataclasses.replace(call, count=max(1, len(offers)))
    if call.date is None:
        call = dataclasses.replace(call, date=timezone.now())
    history = DatabaseHistory()
    outcome = core.propose(
        catalogue,
        call,
        ContactDirectory(catalogue, snapshot.dimensions, history, call.date),
        history,
    )
    interaction_id = uuid.uuid4()
    proposals = outcome.proposals
    stored = outcome.space.store if store is None else store
    ids: list[int | None] = [None] * len(proposals)
    if stored and proposals:
        proposals, ids = _store(snapshot, outcome, interaction_id, campaign, call)
    space_row = snapshot.spaces[outcome.space.code]
    return PropositionsResult(
        interaction_id=interaction_id,
        identified=outcome.identified,
        space_code=outcome.space.code,
        propositions=[
            _render(snapshot, space_row, proposal, proposition_id, outcome)
            for proposal, proposition_id in zip(proposals, ids, strict=True)
        ],
        reason=outcome.reason,
        trace=outcome.trace,
        stored=stored and bool(proposals),
    )


def _only_offers(catalogue: Catalogue, offer_ids: frozenset[int]) -> Catalogue:
    """``catalogue`` where the chosen offers are the only, always-in-scope ones.

    Each space's maximum is lifted to the number of chosen offers: choosing
    offers replaces arbitration.
    """
    limit = max(1, len(offer_ids))
    environments = {
        env_id: dataclasses.replace(
            environment,
            offers=tuple(
                dataclasses.replace(offer, always_include=True)
                for offer in environment.offers
                if offer.id in offer_ids
            ),
        )
        for env_id, environment in catalogue.environments.items()
    }
    spaces = {
        code: dataclasses.replace(space, max_offers=max(space.max_offers, limit))
        for code, space in catalogue.spaces.items()
    }
    return dataclasses.replace(
        catalogue,
        environments=environments,
        spaces=spaces,
        offers_by_space=index_by_space(environments, spaces),
    )


def content_of(offer: Offer, space_row) -> dict[str, Any]:
    """The values of the space's content fields, in the space's order."""
    content = {}
    for row in space_row.content_fields.all():
        value = offer.content_value(row.field)
        if row.field == "image":
            value = value.file.url if value else None
        elif row.field == "html_content":
            value = expand_db_html(value) if value else ""
        content[row.field] = value
    return content


def _render(snapshot: Snapshot, space_row, proposal: Proposal, proposition_id, outcome):
    offer = snapshot.offers[proposal.offer.id]
    key = (space_row.pk, offer.pk)
    presentation = snapshot.presentations.get(key)
    if presentation is None:
        content = content_of(offer, space_row)
        rendered = render_offer(
            space_row,
            offer,
            proposition={
                "id": proposition_id,
                "rank": proposal.rank,
                "weight": proposal.weight,
            },
            contact=outcome.attributes,
        )
        if uses_default_templates(space_row):
            snapshot.presentations[key] = (content, rendered)
    else:
        content, rendered = presentation
    return RenderedProposition(
        id=proposition_id,
        rank=proposal.rank,
        weight=proposal.weight,
        offer=offer,
        category_code=proposal.offer.category_code,
        content=dict(content),
        html=rendered["html"],
        text=rendered["text"],
    )


def _store(snapshot: Snapshot, outcome: Outcome, interaction_id, campaign, call: Call):
    """Store the propositions; global caps are re-checked under a row lock.

    Concurrent calls proposing a capped offer serialise on that offer's row, so
    the count they read includes every proposition stored before them and a cap
    is never exceeded. Only the capping rules the engine applied to this call
    (its channel, its contact) are re-checked.
    """
    space = outcome.space
    environment = snapshot.catalogue.environments[space.environment_id]
    values = core.call_values(outcome.attributes, call.context)
    caps = [
        rule
        for rule in applicable_rules(environment, space, values, outcome.date.date())
        if rule.global_capping
    ]
    proposals = list(outcome.proposals)
    with transaction.atomic():
        capped = sorted(
            {
                p.offer.id
                for p in proposals
                for rule in caps
                if rule.offer_ids is None or p.offer.id in rule.offer_ids
            }
        )
        if capped:
            list(
                Offer.objects.select_for_update()
                .filter(pk__in=capped)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            history = DatabaseHistory()
            over = set()
            for rule in caps:
                counts = history.offer_counts(
                    capped,
                    outcome.date - rule.period,
                    outcome.date + rule.period,
                    space.channel if rule.same_channel_only else None,
                    rule.counted_statuses,
                )
                over |= {
                    offer_id
                    for offer_id, count in counts.items()
                    if count >= rule.quantity
                    and (rule.offer_ids is None or offer_id in rule.offer_ids)
                }
            proposals = [
                Proposal(p.offer, rank, p.weight)
                for rank, p in enumerate(
                    (p for p in proposals if p.offer.id not in over), start=1
                )
            ]
        rows = Proposition.objects.bulk_create(
            [
                Proposition(
                    interaction_id=interaction_id,
                    environment_id=space.environment_id,
                    offer_id=p.offer.id,
                    offer_code=p.offer.code,
                    category_id=p.offer.category_id,
                    space_id=space.id,
                    channel=space.channel,
                    contact_ref=outcome.contact_key or "",
                    visitor_id=outcome.visitor_id or "",
                    campaign=campaign,
                    rank=p.rank,
                    weight=p.weight,
                    status=space.initial_status,
                    event_date=outcome.date,
                )
                for p in proposals
            ]
        )
    return proposals, [row.pk for row in rows]


#: A status never goes back down this order: a late "presented" beacon must not
#: undo an "accepted" click. Statuses of the same level replace each other.
STATUS_LEVELS = {
    PropositionStatus.PROPOSED: 0,
    PropositionStatus.PRESENTED: 1,
    PropositionStatus.INTERESTED: 2,
    PropositionStatus.SCHEDULED: 3,
    PropositionStatus.ACCEPTED: 4,
    PropositionStatus.REJECTED: 4,
}


def update_status(proposition: Proposition, status: str) -> Proposition:
    """Set ``status`` now, unless the proposition already went further.

    Setting the same status again changes nothing, so updates are idempotent.
    """
    if status not in PropositionStatus.values:
        raise ValueError(f"Unknown status “{status}”.")
    if STATUS_LEVELS[status] < STATUS_LEVELS[proposition.status]:
        return proposition
    if proposition.status != status:
        proposition.status = status
        proposition.last_modified = timezone.now()
        Proposition.objects.filter(pk=proposition.pk).update(
            status=status, last_modified=proposition.last_modified
        )
    return proposition
