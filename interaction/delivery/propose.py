"""Entry points of the offer engine for Django code: propose, store, update.

The API, the template tag, the blocks and the previews all call :func:`propose`;
the pure engine (:mod:`interaction.engine`) does the choosing, this module adds
the compiled snapshot, the database readers, rendering (step 8) and storage
(step 9, :mod:`.storage`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch
from django.utils import timezone

from ..engine import core
from ..engine.call import Call, Decision, PageOffers, Proposal
from ..engine.catalogue import Catalogue, index_by_space
from ..middleware import NEW_VISITOR
from ..models import Offer, OfferSpace
from .readers import DatabaseDirectory, DatabaseHistory, NewVisitor
from .rendering import offer_context, render_offer, uses_default_templates
from .snapshot import Snapshot, get_snapshot
from .storage import store_propositions
from .tracking import tracked_urls


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
    #: The signed link recording acceptance, for a stored proposition of an
    #: offer with an http(s) destination.
    tracked_url: str | None = None


@dataclass
class PropositionsResult:
    interaction_id: uuid.UUID
    identified: bool
    space_code: str
    propositions: list[RenderedProposition] = field(default_factory=list)
    reason: str = ""
    trace: list[Decision] = field(default_factory=list)


def propose(
    call: Call,
    *,
    store: bool | None = None,
    offers: Collection[int] | None = None,
    page: PageOffers | None = None,
) -> PropositionsResult:
    """Run the engine for ``call``, then render and (per the space) store.

    ``offers`` (ids of chosen live offers, e.g. the offer block's): only they
    are candidates, in scope whatever the call's category or themes, and no
    arbitration limits them; eligibility and typology rules still apply.

    ``page``: the offers the page shows so far (one offer once per page): the
    call proposes none of them, and what it proposes is added.

    The history of a visitor first seen on this request, for whom nothing
    has been stored yet (:data:`~interaction.middleware.NEW_VISITOR`), is not
    read: only the budgets of global caps are.

    Raises :class:`interaction.engine.errors.UnknownSpace` or
    ``SpaceNotRealTime``.
    """
    snapshot = get_snapshot()
    catalogue = snapshot.catalogue
    if offers is not None:
        chosen = frozenset(offers)
        catalogue = snapshot.derived.get(
            ("only offers", chosen), lambda: only_offers(snapshot.catalogue, chosen)
        )
        call = dataclasses.replace(call, count=max(1, len(chosen)))
    if call.date is None:
        call = dataclasses.replace(call, date=timezone.now())
    if page is not None:
        call = page.excluding(call)
    new_visitor = NEW_VISITOR.get()
    history = (
        NewVisitor(new_visitor)
        if new_visitor is not None and call.visitor == new_visitor
        else DatabaseHistory()
    )
    outcome = core.propose(
        catalogue, call, DatabaseDirectory(snapshot.dimensions), history
    )
    interaction_id = uuid.uuid4()
    proposals = outcome.proposals
    ids: list[int | None] = [None] * len(proposals)
    if (outcome.space.store if store is None else store) and proposals:
        proposals, ids = store_propositions(outcome, interaction_id)
        if new_visitor is not None and outcome.visitor == new_visitor:
            NEW_VISITOR.set(None)  # it has a history now
    if page is not None:
        page.add(outcome.space.code, (proposal.offer.code for proposal in proposals))
    space_row = snapshot.spaces[outcome.space.code]
    links = TrackedLinks()
    return PropositionsResult(
        interaction_id=interaction_id,
        identified=outcome.identified,
        space_code=outcome.space.code,
        propositions=[
            render_proposal(
                snapshot,
                space_row,
                proposal,
                proposition_id,
                outcome.attributes,
                links,
            )
            for proposal, proposition_id in zip(proposals, ids, strict=True)
        ],
        reason=outcome.reason,
        trace=outcome.trace,
    )


def only_offers(catalogue: Catalogue, offer_ids: frozenset[int]) -> Catalogue:
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


def content_of(
    offer: Offer, space_row: OfferSpace, offer_data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The values of the space's content fields, in the space's order.

    The image is its URL, the HTML content sanitised, the destination URL
    http(s) only (``offer_data``: ``offer_context(offer)``, if known).
    """
    data = offer_context(offer) if offer_data is None else offer_data
    content = {}
    for row in space_row.content_fields.all():
        if row.field == "image":
            value = data["image"] or None
        elif row.field in ("html_content", "destination_url"):
            value = str(data[row.field])
        else:
            value = offer.content_value(row.field)
        content[row.field] = value
    return content


class TrackedLinks:
    """The signed links of a call's stored propositions to their http(s)
    destinations (:func:`.tracking.tracked_urls`, looked up once a call)."""

    def __init__(self) -> None:
        self._url: Callable[[int, str], str] | None = None
        self._mounted = True

    def __call__(self, proposition_id: int | None, destination: str) -> str | None:
        if proposition_id is None or not destination or not self._mounted:
            return None
        if self._url is None:
            try:
                self._url = tracked_urls()
            except NoReverseMatch:  # the API is not mounted
                self._mounted = False
                return None
        try:
            return self._url(proposition_id, destination)
        except ValueError:  # not http(s)
            return None


def render_proposal(
    snapshot: Snapshot,
    space_row: OfferSpace,
    proposal: Proposal,
    proposition_id: int | None,
    attributes: Mapping[str, Any],
    links: TrackedLinks | None = None,
) -> RenderedProposition:
    """Step 8: a proposal rendered through ``space_row`` for a contact with
    ``attributes`` (calls, and the export of a campaign run's propositions);
    ``links``: the call's, shared by its propositions."""
    offer = snapshot.offers[proposal.offer.id]
    offer_data = snapshot.derived.get(
        ("offer context", offer.pk), lambda: offer_context(offer)
    )

    # The same for every call: the offer's content in this space.
    content = snapshot.derived.get(
        ("content", space_row.pk, offer.pk),
        lambda: content_of(offer, space_row, offer_data),
    )

    link = (links or TrackedLinks())(proposition_id, offer_data["destination_url"])

    def present() -> dict[str, str]:
        return render_offer(
            space_row,
            offer,
            proposition={
                "id": proposition_id,
                "rank": proposal.rank,
                "weight": proposal.weight,
                "tracked_url": link,
            },
            contact=attributes,
            offer_data=offer_data,
        )

    if uses_default_templates(space_row):
        # The default templates read only the offer.
        rendered = snapshot.derived.get(
            ("presentation", space_row.pk, offer.pk), present
        )
    else:
        rendered = present()
    return RenderedProposition(
        id=proposition_id,
        rank=proposal.rank,
        weight=proposal.weight,
        offer=offer,
        category_code=proposal.offer.category_code,
        content=dict(content),
        html=rendered["html"],
        text=rendered["text"],
        tracked_url=link,
    )
