"""The order of offers of equal weight: random, yet reproducible.

A call with a seed draws its tie keys from a generator seeded by (seed,
contact): the same seed gives each contact its own order, and an inbound call
and a batch run with the same seed, date and catalogue rank a contact's tied
offers alike (SPEC §5 step 7, §6), since both rank through the same code in
the same order. Keys are drawn lazily by the ranking (order statistics within
a group of offers of equal weight, see :mod:`.ranking`), which is why the
generator, not a key per offer, is what is shared.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable


def tie_random(seed: int | None, who: str) -> Callable[[], float]:
    """The tie keys of one call: ``random()`` of a generator seeded by (seed,
    ``who``) — the contact's key, the visitor's id, or "" for nobody — or the
    process's shared generator when the call has no seed (a generator of its
    own would cost ~9 µs to seed from the system)."""
    if seed is None:
        return random.random
    digest = hashlib.blake2b(f"{seed}\x1f{who}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big")).random
