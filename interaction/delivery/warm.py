"""A compiled catalogue ready before its first call, kept out of the collector's way.

**Compiled in bulk.** :func:`compile_offers` compiles every live offer's terms
while the snapshot is built (in the background, see :mod:`.snapshot`), so no
call pays ~0.3 ms per offer of its space to compile them on first use; each
space's ranking index is built then too (:func:`prepare`). An
offer whose terms did not change keeps the evaluator of the previous snapshot:
evaluators are keyed by a digest of everything they compile from
(:func:`~interaction.engine.evaluation.terms_key`: the offer's and every
ancestor category's dates, target filters, multipliers and state, its weight
rows, required content, the dimension's fields), so a category's change
recompiles each of its offers, and a rebuild after one offer's publish
compiles that offer alone.

**Out of the collector's way.** A compiled catalogue is long-lived objects
by the hundred thousand (about 30 per offer: published rows, compiled offers,
their functions). CPython's cyclic garbage collector walks every tracked
object of its oldest generation on each full collection, which the
allocations of ordinary calls trigger every few seconds under load: with
10,000 offers those walks made most of a call's p99. So:

- While a catalogue is built, automatic collection is paused
  (:func:`collection_paused`): a build allocates a whole catalogue, which
  would trigger full collections that find nothing. For the build's duration
  the cyclic garbage of the process's other threads waits too.
- Once it is swapped in, :func:`freeze` moves everything alive into the
  collector's permanent generation (``gc.freeze()``), which no collection
  walks.

Frozen objects are still freed by reference counting, and a snapshot has no
reference cycles (its rows carry no prefetched relations, see
:func:`.snapshot.build_snapshot`): a replaced snapshot is freed as soon as
the last call using it returns, frozen or not. A frozen *cycle* is never
collected, though: the few cycles a build leaves (the spaces' rows) and the
garbage of calls running at that moment. So when what is left of the frozen
set has grown by a quarter since the last full collection (CPython's own
rule for full collections), :func:`freeze` unfreezes everything and runs one
full collection first. Measured over 20 rebuilds in one process, each after
another process's publish: RSS stayed within 137-140 MB with 1,000 offers,
and within 347-349 MB with 10,000 from the first rebuild on (which adds the
peak of two snapshots at once).

``INTERACTION_GC_FREEZE = False`` leaves the collector alone (e.g. for a
server that freezes its own objects before forking workers and must not have
them unfrozen).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterable, Iterator, Mapping

from .. import conf
from ..engine import ranking
from ..engine.catalogue import Catalogue, EnvironmentCatalogue
from ..engine.evaluation import OfferEvaluator, precompile, terms_key

#: A full collection when the frozen set grew by more than this factor.
GROWTH = 1.25

_lock = threading.Lock()
#: Objects frozen just after the last full collection (0: none yet).
_frozen_after_collection = 0
#: Builds in progress, and whether the collector ran before the first began.
_building = 0
_was_enabled = False


def prepare(
    catalogue: Catalogue, previous: Mapping[bytes, OfferEvaluator] | None = None
) -> dict[bytes, OfferEvaluator]:
    """Everything a call would otherwise derive from ``catalogue`` on first
    use: every offer's compiled terms (:func:`compile_offers`) and every
    space's ranking index (:func:`~interaction.engine.ranking.prepare`)."""
    evaluators = compile_offers(catalogue.environments.values(), previous)
    ranking.prepare(catalogue)
    return evaluators


def compile_offers(
    environments: Iterable[EnvironmentCatalogue],
    previous: Mapping[bytes, OfferEvaluator] | None = None,
) -> dict[bytes, OfferEvaluator]:
    """Compile every offer's terms now; reuse ``previous`` evaluators (of the
    snapshot this one replaces) for terms that did not change.

    Returns the evaluators by terms key, for the next build to reuse.
    """
    previous = previous or {}
    evaluators: dict[bytes, OfferEvaluator] = {}
    for environment in environments:
        for offer in environment.offers:
            key = terms_key(offer.terms)
            evaluators[key] = precompile(
                offer.terms, evaluators.get(key) or previous.get(key)
            )
    return evaluators


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic garbage collection while a catalogue is built (the
    process's other threads included, for a few seconds at most)."""
    global _building, _was_enabled
    if not conf.gc_freeze():
        yield
        return
    with _lock:
        if not _building:
            _was_enabled = gc.isenabled()
            gc.disable()
        _building += 1
    try:
        yield
    finally:
        with _lock:
            _building -= 1
            if not _building and _was_enabled:
                gc.enable()


def freeze() -> None:
    """After a snapshot was swapped in: freeze everything alive, after a full
    collection if what the last freeze left has grown by a quarter since the
    last full collection (see above)."""
    global _frozen_after_collection
    if not conf.gc_freeze():
        return
    with _lock:
        # Measured before the new snapshot is frozen: what is left of the
        # objects frozen so far (whatever reference counting did not free).
        left = gc.get_freeze_count()
        if not _frozen_after_collection or left > _frozen_after_collection * GROWTH:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            _frozen_after_collection = gc.get_freeze_count()
        else:
            gc.freeze()
