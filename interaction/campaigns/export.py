"""A campaign run's propositions as CSV rows, streamed (see :mod:`.runs`).

Text cells that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return: CSV injection, OWASP) are
prefixed with ``'`` (:func:`safe_cell`); numbers (rank, weight) are written
as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..delivery.propose import RenderedProposition, TrackedLinks, render_proposal
from ..delivery.snapshot import Snapshot, get_snapshot
from ..engine.call import Proposal
from ..models import CampaignRun, Proposition
from ..reports.exports import safe_cell
from .runs import run_spec

#: ``body``: the contact's delivery as HTML, ``body_text``: as plain text
#: (both on the contact's first row only).
EXPORT_HEADER = ["contact", "rank", "offer", "weight", "text", "body", "body_text"]


def rows(run: CampaignRun, page=None) -> Iterator[list[Any]]:
    """The run's propositions as CSV rows (:data:`EXPORT_HEADER` first), read
    and rendered a batch at a time: each offer's text through the campaign's
    space as a call renders it, and the contact's delivery body
    (``render_for`` of the campaign page, as HTML and as plain text, on the
    contact's first row) when the page has one. Text cells go through
    :func:`safe_cell`."""
    yield EXPORT_HEADER
    spec = run_spec(run)
    snapshot = get_snapshot()
    space_row = snapshot.spaces.get(spec.space_code)
    specific = page.specific if page is not None else None
    body = getattr(specific, "render_for", None)
    model_names = snapshot.dimensions.get(run.environment_id)
    links = TrackedLinks()
    rows = (
        Proposition.objects.filter(run=run)
        .order_by("contact_key", "rank")
        .values_list("id", "contact_key", "rank", "offer_id", "offer_code", "weight")
        .iterator(chunk_size=2000)
    )
    for batch_rows in _batches(_by_contact(rows), 500):
        attributes = _attributes(model_names, [key for key, _rows in batch_rows])
        for key, propositions in batch_rows:
            contact = attributes.get(key, {})
            rendered = [
                _rendered(snapshot, space_row, row, contact, links)
                for row in propositions
            ]
            html = text = ""
            if body is not None:
                shown_rows = [r for r in rendered if r is not None]
                html = body(key, shown_rows, contact=contact)
                text = body(key, shown_rows, contact=contact, text=True)
            for row, shown in zip(propositions, rendered, strict=True):
                _id, _key, rank, _offer_id, code, weight = row
                cells = [
                    key,
                    rank,
                    code,
                    weight,
                    shown.text if shown else "",
                    html,
                    text,
                ]
                yield [safe_cell(cell) for cell in cells]
                html = text = ""


def _by_contact(rows: Iterable[tuple]) -> Iterator[tuple[str, list[tuple]]]:
    """The rows of each contact (sorted by contact)."""
    current: str = ""
    group: list[tuple] = []
    for row in rows:
        if group and row[1] != current:
            yield current, group
            group = []
        current = row[1]
        group.append(row)
    if group:
        yield current, group


def _batches(items, size):
    batch_items = []
    for item in items:
        batch_items.append(item)
        if len(batch_items) >= size:
            yield batch_items
            batch_items = []
    if batch_items:
        yield batch_items


def _attributes(model_names, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The targetable fields of the contacts with ``keys`` (one query)."""
    if model_names is None or not keys:
        return {}
    model, names = model_names
    pk = model._meta.pk
    found = {}
    try:
        wanted = [pk.to_python(key) for key in keys]
    except Exception:
        return {}
    for pk_value, *values in model._default_manager.filter(pk__in=wanted).values_list(
        "pk", *names
    ):
        found[str(pk_value)] = dict(zip(names, values, strict=True))
    return found


def _rendered(
    snapshot: Snapshot,
    space_row,
    row,
    contact: Mapping[str, Any],
    links: TrackedLinks,
) -> RenderedProposition | None:
    proposition_id, _key, rank, offer_id, _code, weight = row
    compiled = _compiled_offer(snapshot, offer_id)
    if space_row is None or compiled is None:
        return None  # no longer live: nothing to render it with
    return render_proposal(
        snapshot,
        space_row,
        Proposal(compiled, rank, weight),
        proposition_id,
        contact,
        links,
    )


def _compiled_offer(snapshot: Snapshot, offer_id):
    offers = snapshot.derived.get(
        "compiled offers by id",
        lambda: {
            offer.id: offer
            for environment in snapshot.catalogue.environments.values()
            for offer in environment.offers
        },
    )
    return offers.get(offer_id)
