"""Step 9 of SPEC §5: store a call's propositions; move statuses forward.

Global caps are counted again when storing, under a row lock on each capped
offer: concurrent calls proposing a capped offer serialise on that offer's
row, so the count they read includes every proposition stored before them
and a cap is never exceeded. The engine decides with the same functions as
when it ranked (:mod:`interaction.engine.typology`); an offer that ran out
meanwhile gives its place to the next one of the call's ranking.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from ..engine import core, statuses, typology
from ..engine.call import Outcome, Proposal
from ..models import Offer, Proposition
from .readers import DatabaseHistory


def store_propositions(
    outcome: Outcome, interaction_id: uuid.UUID
) -> tuple[list[Proposal], list[int | None]]:
    """Store the outcome's propositions: those stored and their ids."""
    space = outcome.space
    with transaction.atomic():
        proposals = outcome.proposals
        capped = _capped_offer_ids(outcome)
        if capped:
            # Locked in id order, so concurrent calls never deadlock.
            list(
                Offer.objects.select_for_update()
                .filter(pk__in=capped)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            excluded = typology.capping_exclusions(
                outcome.capping_rules,
                space,
                capped,
                outcome.date,
                DatabaseHistory(),
            )
            proposals = core.choose(outcome.ranking, outcome.limit, excluded)
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
                    contact_key=outcome.contact_key or "",
                    visitor_id=outcome.visitor or "",
                    rank=p.rank,
                    weight=p.weight,
                    status=space.initial_status,
                    event_date=outcome.date,
                )
                for p in proposals
            ]
        )
    return proposals, [row.pk for row in rows]


def _capped_offer_ids(outcome: Outcome) -> list[int]:
    """The offers of the ranking a global cap of this call applies to, by id."""
    if not outcome.capping_rules:
        return []
    return sorted(
        {
            offer.id
            for offer, _weight in outcome.ranking
            if any(
                typology.applies_to(rule, offer.id) for rule in outcome.capping_rules
            )
        }
    )


def update_status(proposition: Proposition, status: str) -> Proposition:
    """Set ``status`` now, unless the proposition already went as far or further.

    One conditional ``UPDATE``: concurrent updates can never move a status
    backwards, and the same status again changes nothing (idempotent).
    ``proposition`` is refreshed with the stored status.
    """
    if status not in statuses.LEVELS:
        raise ValueError(f"Unknown status “{status}”.")
    now = timezone.now()
    moved = Proposition.objects.filter(
        pk=proposition.pk, status__in=statuses.sources(status)
    ).update(status=status, last_modified=now)
    if moved:
        proposition.status, proposition.last_modified = status, now
    else:
        proposition.refresh_from_db(fields=["status", "last_modified"])
    return proposition
