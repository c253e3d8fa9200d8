"""The order of offers of equal weight: random, yet reproducible.

A call's seed fixes it: the key of an offer is a function of (seed, contact,
offer) only, so an inbound call and a batch run with the same seed and date
rank a contact's tied offers alike, whatever else they evaluate and in
whatever order (SPEC §5 step 7, §6).
"""

from __future__ import annotations

import hashlib
import random

_SCALE = float(1 << 64)


def new_seed() -> int:
    """A seed for a call that gave none."""
    return random.getrandbits(63)


def tie_key(seed: int, who: str, offer_id: int) -> float:
    """A number in [0, 1), uniform over seeds: among offers of equal weight,
    the lowest key ranks first. ``who``: the contact's key, the visitor's
    id, or "" for nobody."""
    digest = hashlib.blake2b(
        f"{seed}\x1f{who}\x1f{offer_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / _SCALE
