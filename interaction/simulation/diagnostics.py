"""Coverage diagnostics: why contacts got fewer offers than asked, counted.

Built on the engine's own trace, not a second implementation: each contact
short of offers is ranked again with the trace on
(:func:`interaction.engine.batch.rank_contacts` with ``explain=True``, the
decisions a preview shows), and every candidate a decision dropped is
counted under what dropped it: a target filter (the environment's, a
category's or the offer's), the dates, missing required content, a typology
rule, a global cap's budget, a category not published or disabled, the
weight. An offer the ranking kept but the run's allocation did not grant
was refused by a budget the population used up (or the contact was left
out for getting fewer than N). Each reason names the object to fix.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import batch, typology
from ..engine.call import Call, Outcome
from ..engine.catalogue import Catalogue, CompiledOffer, CompiledRule
from ..engine.evaluation import (
    MISSING_CONTENT,
    NOT_MATCHING,
    NOT_TARGETABLE,
    OUTSIDE_DATES,
)
from ..engine.formulas import OUT_OF_RANGE

#: Kinds of reason, in the order the results page explains them.
FILTER = "filter"
DATES = "dates"
CONTENT = "content"
TYPOLOGY = "typology"
BUDGET = "budget"
BLOCKED = "blocked"
FIELDS = "fields"
WEIGHT = "weight"
EXCLUDED = "excluded"
OTHER = "other"

#: Decisions that are not a removal (the offer was there, ranked lower).
_NOT_REMOVED = ("proposed", "ranked beyond")
_QUOTED = re.compile(r"“([^”]*)”")


@dataclass(frozen=True)
class Reason:
    kind: str
    #: What to fix: "offer", "category", "rule", "environment" or "" (none).
    object_type: str
    code: str


def classify(reason: str, offer_code: str) -> Reason:
    """What a trace's ``reason`` for dropping ``offer_code`` names."""
    quoted = _QUOTED.search(reason)
    code = quoted.group(1) if quoted else ""
    if reason.startswith(NOT_MATCHING):
        whose = reason[len(NOT_MATCHING) :].strip()
        if whose.startswith("category"):
            return Reason(FILTER, "category", code)
        if whose == "the environment":
            return Reason(FILTER, "environment", "")
        return Reason(FILTER, "offer", offer_code)
    if reason == OUTSIDE_DATES:
        return Reason(DATES, "offer", offer_code)
    if reason == MISSING_CONTENT:
        return Reason(CONTENT, "offer", offer_code)
    if reason.startswith(NOT_TARGETABLE):
        return Reason(FIELDS, "offer", offer_code)
    if reason.startswith("typology rule"):
        return Reason(TYPOLOGY, "rule", code)
    if reason.startswith("global capping rule"):
        return Reason(BUDGET, "rule", code)
    if reason.startswith("category") and quoted:
        return Reason(BLOCKED, "category", code)
    if reason == OUT_OF_RANGE or reason.startswith("weight"):
        return Reason(WEIGHT, "offer", offer_code)
    return Reason(OTHER, "offer", offer_code)


class Diagnostics:
    """The reasons counted over the contacts short of offers."""

    def __init__(self, catalogue: Catalogue, call: Call, environment_id: int) -> None:
        self.catalogue = catalogue
        #: The run's call: each short contact is ranked again with it.
        self.call = call
        environment = catalogue.environments[environment_id]
        self.environment_id = environment_id
        self.ids = {
            "offer": {offer.code: offer.id for offer in environment.offers},
            "category": dict(environment.categories_by_code),
            "rule": {rule.code: rule.id for rule in environment.rules},
        }
        #: Reason -> candidates it removed, contacts it removed one from.
        self.candidates: Counter[Reason] = Counter()
        self.contacts: Counter[Reason] = Counter()
        self.short = 0
        #: Short contacts whose ranking found no candidate at all in scope.
        self.no_candidate = 0

    def add(self, outcomes: Sequence[Outcome], choices: Sequence[batch.Choice]) -> None:
        """Count why each contact of ``choices`` (allocated from ``outcomes``)
        got fewer offers than its outcome's limit."""
        short = [
            index
            for index, choice in enumerate(choices)
            if len(choice.proposals) < outcomes[index].limit
        ]
        if not short:
            return
        self.short += len(short)
        explained = batch.rank_contacts(
            self.catalogue,
            self.call,
            [choices[index].contact for index in short],
            explain=True,
        )
        for index, outcome in zip(short, explained, strict=True):
            self._count(outcome, choices[index])

    def _count(self, outcome: Outcome, choice: batch.Choice) -> None:
        found: Counter[Reason] = Counter()
        for decision in outcome.trace:
            if decision.kept or decision.reason.startswith(_NOT_REMOVED):
                continue
            found[classify(decision.reason, decision.offer_code)] += 1
        granted = {proposal.offer.id for proposal in choice.proposals}
        rules = batch.capped_counters(outcome)
        for offer, _weight in outcome.ranking:
            if offer.id in granted:
                continue
            for reason in self._not_granted(offer, choice, rules):
                found[reason] += 1
        if not found and not outcome.ranking:
            self.no_candidate += 1
        self.candidates.update(found)
        self.contacts.update(found.keys())

    @staticmethod
    def _not_granted(
        offer: CompiledOffer, choice: batch.Choice, rules: Sequence[CompiledRule]
    ) -> list[Reason]:
        if choice.excluded:
            return [Reason(EXCLUDED, "", "")]
        # Ranked, not granted, the contact short: a budget the run used up.
        refusing = [rule for rule in rules if typology.applies_to(rule, offer.id)]
        return [Reason(BUDGET, "rule", rule.code) for rule in refusing] or [
            Reason(OTHER, "offer", offer.code)
        ]

    def results(self) -> dict[str, Any]:
        reasons = []
        for reason, candidates in sorted(
            self.candidates.items(),
            key=lambda item: (-item[1], item[0].kind, item[0].code),
        ):
            object_id = (
                self.environment_id
                if reason.object_type == "environment"
                else self.ids.get(reason.object_type, {}).get(reason.code)
            )
            reasons.append(
                {
                    "kind": reason.kind,
                    "object_type": reason.object_type,
                    "object_id": object_id,
                    "code": reason.code,
                    "candidates": candidates,
                    "contacts": self.contacts[reason],
                }
            )
        return {
            "short": self.short,
            "no_candidate": self.no_candidate,
            "reasons": reasons,
        }
