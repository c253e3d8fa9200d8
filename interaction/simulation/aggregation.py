"""A simulation's figures, added up chunk by chunk (SPEC §6).

Per offer: propositions in total, at rank 1 to :data:`RANKS`, the average
rank and the share of all propositions; contacts with no offer, with fewer
than asked, excluded; how many contacts got 0, 1, … N offers. Kept as JSON
on the :class:`~interaction.models.Simulation` (:meth:`Tally.results`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..engine.batch import Choice
from ..engine.catalogue import CompiledOffer

#: Ranks counted one by one (a proposition beyond counts in the total only).
RANKS = 5


class Tally:
    """What the chunks proposed so far."""

    def __init__(self, asked: int) -> None:
        #: Offers asked per contact (N, at most the space's maximum).
        self.asked = asked
        self.contacts = 0
        self.excluded = 0
        self.propositions = 0
        self.offers: dict[int, CompiledOffer] = {}
        self.totals: Counter[int] = Counter()
        self.rank_sums: Counter[int] = Counter()
        self.at_rank: Counter[tuple[int, int]] = Counter()
        #: Number of offers -> contacts who got that many.
        self.by_count: Counter[int] = Counter()

    def add(self, choices: Iterable[Choice]) -> None:
        for choice in choices:
            self.contacts += 1
            self.excluded += choice.excluded
            self.by_count[len(choice.proposals)] += 1
            for proposal in choice.proposals:
                offer_id = proposal.offer.id
                self.offers[offer_id] = proposal.offer
                self.propositions += 1
                self.totals[offer_id] += 1
                self.rank_sums[offer_id] += proposal.rank
                if proposal.rank <= RANKS:
                    self.at_rank[(offer_id, proposal.rank)] += 1

    def results(self) -> dict[str, Any]:
        offers = []
        for offer_id, total in sorted(
            self.totals.items(), key=lambda item: (-item[1], self.offers[item[0]].code)
        ):
            offer = self.offers[offer_id]
            offers.append(
                {
                    "id": offer_id,
                    "code": offer.code,
                    "label": offer.label,
                    "total": total,
                    "ranks": [
                        self.at_rank[(offer_id, rank)] for rank in range(1, RANKS + 1)
                    ],
                    "average_rank": round(self.rank_sums[offer_id] / total, 2),
                    "share": round(total / self.propositions, 4),
                }
            )
        return {
            "asked": self.asked,
            "contacts": self.contacts,
            "excluded": self.excluded,
            "propositions": self.propositions,
            "no_offer": self.by_count[0],
            "fewer": sum(n for count, n in self.by_count.items() if count < self.asked),
            "by_count": [self.by_count[count] for count in range(self.asked + 1)],
            "offers": offers,
        }


def compare(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[dict]:
    """Two simulations' offers side by side (an offer of either), by code:
    each one's total and share, and what moved (second minus first)."""
    rows: dict[str, dict[str, Any]] = {}
    for side, results in (("first", first), ("second", second)):
        for offer in results.get("offers", ()):
            row = rows.setdefault(
                offer["code"],
                {
                    "code": offer["code"],
                    "label": offer["label"],
                    "first": 0,
                    "second": 0,
                    "first_share": 0.0,
                    "second_share": 0.0,
                },
            )
            row[side] = offer["total"]
            row[f"{side}_share"] = offer["share"]
    for row in rows.values():
        row["change"] = row["second"] - row["first"]
    return sorted(
        rows.values(),
        key=lambda row: (-abs(row["change"]), -row["second"], row["code"]),
    )
