"""The order of offers of equal weight: random, yet reproducible.

Each offer of a call gets a key that is a function of (seed, contact, offer)
only: among offers of equal weight the lowest key ranks first. So a call with
a seed gives each contact its own order, and whatever evaluates the offers,
in whatever order (a preview evaluating every offer, the ranking of a big
space pruning most of them, a batch run over a whole population), the same
seed, date and catalogue rank a contact's tied offers alike (SPEC §5 step 7,
§6). A call without a seed draws one (:func:`new_seed`), so repeated visits
alternate.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

_SCALE = float(1 << 64)
_MASK = (1 << 64) - 1


def new_seed() -> int:
    """A seed for a call that gave none."""
    return random.getrandbits(63)


def tie_key(seed: int, who: str, offer_id: int) -> float:
    """A number in [0, 1), uniform over seeds: among offers of equal weight,
    the lowest key ranks first. ``who``: the contact's key, the visitor's
    id, or "" for nobody."""
    return tie_keys(seed, who)(offer_id)


def tie_keys(seed: int | None, who: str) -> Callable[[int], float]:
    """:func:`tie_key` of each offer id for one call (``seed`` ``None``: a new
    one): (seed, who) hashed once (BLAKE2b), then each offer id mixed in by
    SplitMix64's finaliser (~0.3 µs a key, for the ranking of big spaces)."""
    seed = new_seed() if seed is None else seed
    digest = hashlib.blake2b(f"{seed}\x1f{who}".encode(), digest_size=8).digest()
    base = int.from_bytes(digest, "big")

    def key(offer_id: int) -> float:
        z = (base + offer_id * 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return (z ^ (z >> 31)) / _SCALE

    return key
