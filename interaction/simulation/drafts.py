"""A catalogue of drafts: every offer, category and space of one environment
at its latest revision, compiled as the live catalogue is.

The live catalogue (:mod:`interaction.delivery.snapshot`) compiles the
published rows and is shared by every call of a process; this one is built
for one simulation from the same compiler (:func:`snapshot.compile_rows`)
and is never served: the shared one is neither replaced nor invalidated.

"The latest revision" is Wagtail's (``get_latest_revision_as_object``): a
draft never published, changes awaiting approval, or the published content
when nothing changed since. Every object is taken as if published, live or
not (an unpublished category no longer blocks its offers: what approving
everything in design would give). Typology rules have no drafts: the active
ones apply. Nothing is saved: the revisions' objects only live in memory.
"""

from __future__ import annotations

from ..delivery import snapshot
from ..models import Environment, Offer, OfferCategory, OfferSpace

#: The version label of a catalogue of drafts (never a live version token).
VERSION = "drafts"


def draft_snapshot(environment: Environment) -> snapshot.Snapshot:
    """The compiled catalogue of ``environment``'s latest revisions; the live
    snapshot's compiled terms are reused for the offers that did not change."""
    return snapshot.compile_rows(
        draft_rows(environment), VERSION, previous=snapshot.get_snapshot()
    )


def draft_rows(environment: Environment) -> snapshot.Rows:
    categories = {
        row.pk: _latest(row)
        for row in OfferCategory.objects.filter(environment=environment).select_related(
            "latest_revision"
        )
    }
    spaces_by_pk = {
        row.pk: _latest(row)
        for row in OfferSpace.objects.filter(environment=environment)
        .select_related("latest_revision")
        .prefetch_related("content_fields")
    }
    for space in spaces_by_pk.values():
        if space.fallback_space_id in spaces_by_pk:
            # The fallback as drafted too (compiled only if it is a space).
            space.fallback_space = spaces_by_pk[space.fallback_space_id]
    offers = {
        row.pk: _latest(row)
        for row in Offer.objects.filter(environment=environment)
        .select_related("latest_revision")
        .prefetch_related("spaces", "weights")
    }
    return snapshot.Rows(
        environments={environment.pk: environment},
        categories=categories,
        spaces={space.code: space for space in spaces_by_pk.values()},
        offers={
            pk: offer
            for pk, offer in offers.items()
            # A draft moved to a category of another environment or deleted
            # since: not compilable, left out.
            if offer.category_id in categories
        },
        offer_spaces={
            pk: {space.pk for space in offer.spaces.all() if space.pk in spaces_by_pk}
            for pk, offer in offers.items()
        },
        offer_weights={
            pk: sorted(offer.weights.all(), key=lambda row: row.sort_order or 0)
            for pk, offer in offers.items()
        },
    )


def _latest(row):
    """``row`` at its latest revision, in memory, taken as published."""
    latest = row.get_latest_revision_as_object()
    latest.live = True
    return latest
