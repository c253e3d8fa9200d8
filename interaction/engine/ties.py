"""The order of offers of equal weight: random, yet reproducible.

Each offer of a call gets a key that is a function of (seed, contact, offer)
only: among offers of equal weight the lowest key ranks first. So a call with
a seed gives each contact its own order, and whatever evaluates the offers,
in whatever order (a preview evaluating every offer, the ranking of a big
space pruning most of them, a batch run over a whole population), the same
seed, date and catalogue rank a contact's tied offers alike (SPEC §5 step 7,
§6). A call without a seed draws one (:func:`new_seed`), so repeated visits
alternate.

Keys are independent of which other offers a space holds (a draft in a
simulation, an ineligible offer, a category asked for change no other
offer's key), so a big space whose offers tie in large groups has every tied
member's key computed: :meth:`Ties.of` computes a whole group's at once.
"""

from __future__ import annotations

import hashlib
import random
import struct
import sys
from collections.abc import Sequence

#: Whether ``memoryview.cast`` reads 64-bit lanes in little-endian order.
_LITTLE_ENDIAN = sys.byteorder == "little"
_SCALE = float(1 << 64)
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
#: Bits of a lane of :class:`Ids`: a 64-bit value times a 64-bit constant
#: fits in it, so lanes never carry into each other.
_LANE = 128


def new_seed() -> int:
    """A seed for a call that gave none."""
    return random.getrandbits(63)


def tie_key(seed: int, who: str, offer_id: int) -> float:
    """A number in [0, 1), uniform over seeds: among offers of equal weight,
    the lowest key ranks first. ``who``: the contact's key, the visitor's
    id, or "" for nobody."""
    return tie_keys(seed, who)(offer_id)


def tie_keys(seed: int | None, who: str) -> Ties:
    """:func:`tie_key` of each offer id for one call (``seed`` ``None``: a new
    one)."""
    return Ties(new_seed() if seed is None else seed, who)


class Ids:
    """Offer ids (a group of a space's ranking index) packed for
    :meth:`Ties.of`: each id's ``id * golden ratio`` (mod 2⁶⁴) in a 128-bit
    lane of one integer, lane ``i`` holding ``ids[i]``."""

    __slots__ = ("count", "_golden", "_mask", "_ones")

    def __init__(self, ids: Sequence[int]) -> None:
        self.count = len(ids)
        self._golden = int.from_bytes(
            b"".join(
                ((offer_id * _GOLDEN) & _MASK).to_bytes(_LANE // 8, "little")
                for offer_id in ids
            ),
            "little",
        )
        #: 1 in every lane, and the low 64 bits of every lane.
        self._ones = int.from_bytes(
            (1).to_bytes(_LANE // 8, "little") * len(ids), "little"
        )
        self._mask = self._ones * _MASK


class Ties:
    """One call's tie keys: (seed, who) hashed once (BLAKE2b), then each offer
    id mixed in by SplitMix64's finaliser (~0.3 µs a key)."""

    __slots__ = ("_base",)

    def __init__(self, seed: int, who: str) -> None:
        digest = hashlib.blake2b(f"{seed}\x1f{who}".encode(), digest_size=8).digest()
        self._base = int.from_bytes(digest, "big")

    def __call__(self, offer_id: int) -> float:
        z = (self._base + offer_id * _GOLDEN) & _MASK
        z = ((z ^ (z >> 30)) * _MIX1) & _MASK
        z = ((z ^ (z >> 27)) * _MIX2) & _MASK
        return (z ^ (z >> 31)) / _SCALE

    def of(self, ids: Ids, count: int | None = None) -> list[float]:
        """The keys of the first ``count`` (default: all) of ``ids``, equal to
        calling the keys one by one: the same finaliser applied to every lane
        of one integer, each step a single operation over all of them (about
        a third of the time of one call per id)."""
        count = ids.count if count is None else min(count, ids.count)
        if count <= 0:
            return []
        golden, ones, mask = ids._golden, ids._ones, ids._mask
        if count < ids.count:
            prefix = (1 << (_LANE * count)) - 1
            golden, ones, mask = golden & prefix, ones & prefix, mask & prefix
        z = (self._base * ones + golden) & mask
        z = ((z ^ ((z >> 30) & mask)) * _MIX1) & mask
        z = ((z ^ ((z >> 27) & mask)) * _MIX2) & mask
        z ^= (z >> 31) & mask
        raw = z.to_bytes(count * _LANE // 8, "little")
        if _LITTLE_ENDIAN:
            lanes: Sequence[int] = memoryview(raw).cast("Q")
        else:  # memoryview reads the machine's byte order
            lanes = struct.unpack(f"<{len(raw) // 8}Q", raw)
        return list(map(_SCALE.__rtruediv__, lanes[:: _LANE // 64]))
