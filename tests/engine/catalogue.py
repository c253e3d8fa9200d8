"""An in-memory catalogue, contacts and history: what the pure engine reads.

The engine tests build the compiled catalogue the way
``interaction.delivery.snapshot`` hands it over (``CompiledOffer``,
``CompiledSpace``, ``CompiledRule``, ``EnvironmentCatalogue``, ``Catalogue``,
each offer's ``OfferTerms``) and answer the engine's contact and history
lookups from memory (the ``ContactDirectory`` and ``HistoryReader`` protocols
of ``interaction.engine.call``): no database, no Django. How published rows
compile into this (category chains, live versions only...) is tested against
the database in ``tests/delivery/``.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from interaction.engine import core, ranking, statuses, typology
from interaction.engine.call import (
    Call,
    CapPeriod,
    Contact,
    History,
    HistoryRequest,
    HistoryRow,
    Outcome,
)
from interaction.engine.catalogue import (
    Catalogue,
    CompiledOffer,
    CompiledRule,
    CompiledSpace,
    EnvironmentCatalogue,
    index_by_space,
    split_themes,
)
from interaction.engine.conditions import DATE, NUMBER, TEXT, FieldSpec
from interaction.engine.evaluation import (
    Multiplier,
    OfferTerms,
    TargetFilter,
    WeightRow,
    Window,
    intersect,
)
from interaction.engine.predicates import compile_predicate

UTC = datetime.UTC
#: The date of every call unless a test gives another.
NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

#: The fields of the tests' contact dimension (``tests.testapp.models.Contact``)
#: as conditions and formulas see them; ``tests/conditions/test_fields.py``
#: checks that the model gives exactly these.
CONTACT_FIELDS = {
    spec.name: spec
    for spec in (
        FieldSpec("id", NUMBER),
        FieldSpec("email", TEXT),
        FieldSpec("first_name", TEXT),
        FieldSpec("last_name", TEXT),
        FieldSpec("age", NUMBER),
        FieldSpec("country", TEXT),
        FieldSpec("loyalty_tier", TEXT, ("none", "silver", "gold", "platinum")),
        FieldSpec("signup_date", DATE),
        FieldSpec("pk", NUMBER),
    )
}
#: Field name -> kind, as the snapshot gives each offer's terms.
CONTACT_KINDS = {name: spec.kind for name, spec in CONTACT_FIELDS.items()}
#: What a typology rule's "applies to offers" condition may compare
#: (``interaction.models.typology.OFFER_CONDITION_FIELDS``, checked there too).
OFFER_FIELDS = {
    spec.name: spec
    for spec in (
        FieldSpec("code", TEXT),
        FieldSpec("label", TEXT),
        FieldSpec("category", TEXT),
        FieldSpec("category_path", TEXT),
        FieldSpec("themes", TEXT),
        FieldSpec("id", NUMBER),
    )
}


@dataclass(frozen=True)
class Environment:
    id: int
    code: str
    anonymous: bool = False


@dataclass
class MemoryContact:
    """A contact row: its primary key and the values of its fields."""

    pk: int
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class MemoryHistory:
    """The proposition history (``HistoryReader``), as a list of rows."""

    #: (environment id, contact key or visitor id, visitor?, row)
    rows: list[tuple[int, str, bool, HistoryRow]] = field(default_factory=list)
    #: How many times the engine read a contact's history.
    reads: int = 0
    #: Rule id -> rule, for the caps' periods and statuses.
    rules: dict[int, CompiledRule] = field(default_factory=dict)

    def record(
        self,
        offer: CompiledOffer,
        space: CompiledSpace,
        who: MemoryContact | str,
        *,
        status: str = statuses.PROPOSED,
        when: datetime.datetime = NOW,
        visitor: bool = False,
    ) -> None:
        """A stored proposition of ``offer`` to ``who`` (a contact or a visitor id)."""
        key = who if isinstance(who, str) else str(who.pk)
        row = HistoryRow(offer.id, offer.category_id, space.channel, status, when)
        self.rows.append((space.environment_id, key, visitor, row))

    def read(
        self,
        environment_id: int,
        key: str | None,
        visitor: bool,
        request: HistoryRequest,
    ) -> History:
        self.reads += 1
        rows = []
        if key is not None:
            rows = [
                row
                for env_id, who, is_visitor, row in self.rows
                if env_id == environment_id and who == key and is_visitor == visitor
            ]
        return History(
            typology.count_rows(rows, request.date, request.tallies),
            self.exhausted(request.caps),
        )

    def exhausted(self, caps: Sequence[CapPeriod]) -> frozenset[tuple[int, int]]:
        """Every contact's propositions of each offer in each cap's period,
        compared with its quantity (what the counters hold)."""
        used: set[tuple[int, int]] = set()
        for cap in caps:
            rule = self.rules[cap.rule_id]
            counts: dict[int, int] = {}
            for _env, _who, _visitor, row in self.rows:
                if (
                    row.offer_id is not None
                    and cap.start <= row.event_date < cap.start + rule.period
                    and (not cap.channel or row.channel == cap.channel)
                    and typology.takes_cap(rule, row.status)
                ):
                    counts[row.offer_id] = counts.get(row.offer_id, 0) + 1
            used |= {
                (cap.rule_id, offer_id)
                for offer_id, count in counts.items()
                if count >= cap.quantity
            }
        return frozenset(used)


@dataclass
class MemoryDirectory:
    """The contacts (``ContactDirectory``): found by the values of any fields.

    Like the database directory, a contact identified by primary key comes
    with its history in the period the engine asks for.
    """

    history: MemoryHistory
    contacts: list[MemoryContact] = field(default_factory=list)

    def find(
        self,
        environment_id: int,
        fields: Sequence[str],
        values: Sequence[str],
        history: HistoryRequest | None,
    ) -> Contact | None:
        for contact in self.contacts:
            if all(
                str(contact.values.get(name)) == value
                for name, value in zip(fields, values, strict=True)
            ):
                found = None
                if tuple(fields) == ("pk",) and history is not None:
                    rows = [
                        row
                        for env_id, who, visitor, row in self.history.rows
                        if env_id == environment_id
                        and who == str(contact.pk)
                        and not visitor
                    ]
                    found = History(
                        typology.count_rows(rows, history.date, history.tallies),
                        self.history.exhausted(history.caps),
                    )
                return Contact(str(contact.pk), dict(contact.values), found)
        return None


class World:
    """An in-memory catalogue with its contacts and history.

    ``world.offer(...)``, ``world.space(...)``, ``world.rule(...)`` and
    ``world.contact(...)`` add to it; ``world.ask(space, contact, ...)`` runs
    ``interaction.engine.core.propose`` on it. Environments: ``customers``
    (identified, the default), ``partners`` (identified) and ``visitors``
    (anonymous). Categories are written as paths, root first: "cards/gold".
    """

    def __init__(self) -> None:
        self.environments = {
            code: Environment(number, code, anonymous=code == "visitors")
            for number, code in enumerate(("customers", "partners", "visitors"), 1)
        }
        self.spaces: dict[str, CompiledSpace] = {}
        self.offers: list[CompiledOffer] = []
        #: (environment id, rule)
        self.rules: list[tuple[int, CompiledRule]] = []
        self.history = MemoryHistory()
        self.directory = MemoryDirectory(self.history)
        self._ids = itertools.count(1)
        #: (environment id, category code) -> category id
        self._categories: dict[tuple[int, str], int] = {}

    # -- Building ----------------------------------------------------------------

    def _environment(self, code: str) -> Environment:
        return self.environments[code]

    def category_id(self, environment: str, code: str) -> int:
        key = (self._environment(environment).id, code)
        if key not in self._categories:
            self._categories[key] = next(self._ids)
        return self._categories[key]

    def space(
        self,
        code: str = "home-banner",
        *,
        environment: str = "customers",
        channel: str = "web",
        real_time: bool = True,
        max_offers: int = 1,
        identification_fields: Iterable[str] = ("pk",),
        fallback: CompiledSpace | None = None,
        default_category: str | None = None,
        default_themes: str = "",
    ) -> CompiledSpace:
        space = CompiledSpace(
            id=next(self._ids),
            code=code,
            label=code.title(),
            environment_id=self._environment(environment).id,
            channel=channel,
            real_time=real_time,
            max_offers=max_offers,
            identification_fields=tuple(identification_fields),
            fallback_space_code=fallback.code if fallback else None,
            store=True,
            initial_status=statuses.PROPOSED,
            accepted_status=statuses.ACCEPTED,
            default_category_id=self.category_id(environment, default_category)
            if default_category
            else None,
            default_themes=split_themes(default_themes),
        )
        self.spaces[code] = space
        return space

    def offer(
        self,
        code: str = "gold-card",
        *,
        spaces: Iterable[CompiledSpace] = (),
        category: str = "cards",
        environment: str = "customers",
        themes: str = "",
        always_include: bool = False,
        dates: Iterable[tuple[datetime.datetime | None, datetime.datetime | None]] = (),
        filters: Iterable[tuple[str, dict]] = (),
        weights: Iterable[str | float | WeightRow] = (),
        multipliers: Iterable[float | Multiplier] = (),
        blocked: str = "",
        incomplete_in: Iterable[CompiledSpace] = (),
    ) -> CompiledOffer:
        """An offer in ``category`` (a path, root first) on ``spaces``.

        ``dates``: the (start, end) of the offer and of each dated category
        above it; ``filters``: (whose, condition) target filters in order;
        ``weights``: formulas or ``WeightRow``; ``blocked``: why it can never
        be proposed (a disabled or unpublished category above it).
        """
        path = category.split("/")
        chain = tuple(self.category_id(environment, code) for code in reversed(path))
        terms = OfferTerms(
            blocked=blocked,
            window=intersect([Window(start, end) for start, end in dates]),
            filters=tuple(TargetFilter(label, tree) for label, tree in filters),
            kinds=CONTACT_KINDS,
            incomplete_space_ids=frozenset(space.id for space in incomplete_in),
            weight_rows=tuple(
                row if isinstance(row, WeightRow) else WeightRow(str(row))
                for row in weights
            ),
            multipliers=tuple(
                m if isinstance(m, Multiplier) else Multiplier(m) for m in multipliers
            ),
        )
        offer = CompiledOffer(
            id=next(self._ids),
            code=code,
            label=code.title(),
            environment_id=self._environment(environment).id,
            category_id=chain[0],
            category_code=path[-1],
            category_ids=chain,
            themes=frozenset(split_themes(themes)),
            always_include=always_include,
            space_ids=frozenset(space.id for space in spaces),
            terms=terms,
        )
        self.offers.append(offer)
        return offer

    def rule(
        self,
        code: str = "rule",
        *,
        environment: str = "customers",
        channel: str = "",
        days: int = 7,
        hours: int = 0,
        quantity: int = 1,
        same_channel_only: bool = False,
        counted_offers: str = "offer",
        counted_statuses: str = "any",
        global_capping: bool = False,
        offers: Iterable[CompiledOffer] | None = None,
        contact_condition: dict | None = None,
    ) -> CompiledRule:
        """A typology rule (the model's defaults, but 7 days): ``offers`` are
        the ones its "applies to offers" condition selects (``None``: all)."""
        rule = CompiledRule(
            id=next(self._ids),
            code=code,
            channel=channel,
            period=datetime.timedelta(days=days, hours=hours),
            quantity=quantity,
            same_channel_only=same_channel_only,
            counted_offers=counted_offers,
            counted_statuses=statuses.COUNTED[counted_statuses],
            global_capping=global_capping,
            offer_ids=None
            if offers is None
            else frozenset(offer.id for offer in offers),
            applies_to_contact=compile_predicate(contact_condition, CONTACT_KINDS)
            if contact_condition
            else None,
        )
        self.rules.append((self._environment(environment).id, rule))
        self.history.rules[rule.id] = rule
        return rule

    _emails = itertools.count(1)

    def contact(self, **fields: Any) -> MemoryContact:
        """A French gold-tier adult unless told otherwise."""
        pk = next(self._ids)
        values = {
            "id": pk,
            "pk": pk,
            "email": f"contact{next(self._emails)}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "age": 40,
            "country": "FR",
            "loyalty_tier": "gold",
            "signup_date": datetime.date(2024, 1, 1),
        }
        values.update(fields)
        contact = MemoryContact(pk, values)
        self.directory.contacts.append(contact)
        return contact

    def catalogue(self) -> Catalogue:
        """The catalogue as the snapshot compiles it (offers in id order)."""
        environments = {}
        for environment in self.environments.values():
            rules = tuple(
                rule for env_id, rule in self.rules if env_id == environment.id
            )
            environments[environment.id] = EnvironmentCatalogue(
                id=environment.id,
                code=environment.code,
                anonymous=environment.anonymous,
                offers=tuple(
                    sorted(
                        (o for o in self.offers if o.environment_id == environment.id),
                        key=lambda offer: offer.id,
                    )
                ),
                rules=rules,
                categories_by_code={
                    code: category_id
                    for (env_id, code), category_id in self._categories.items()
                    if env_id == environment.id
                },
                field_domains=ranking.field_domains(CONTACT_KINDS, self.extremes()),
            )
        return Catalogue(
            environments=environments,
            spaces=dict(self.spaces),
            offers_by_space=index_by_space(environments, self.spaces),
        )

    def extremes(self) -> dict[str, Any]:
        """The lowest and highest value of each numeric field over the
        contacts, named as Django's ``aggregate(Min(...), Max(...))`` names
        them (values that are not numbers left out, as SQL leaves out nulls)."""
        extremes: dict[str, Any] = {}
        for name in ranking.numeric_fields(CONTACT_KINDS):
            numbers = [
                value
                for contact in self.directory.contacts
                if isinstance(value := contact.values.get(name), int | float)
                and not isinstance(value, bool)
            ]
            if numbers:
                extremes[f"{name}__min"] = min(numbers)
                extremes[f"{name}__max"] = max(numbers)
        return extremes

    # -- Calling -------------------------------------------------------------------

    def ask(
        self,
        space: CompiledSpace | str,
        contact: MemoryContact | str | None = None,
        **call: Any,
    ) -> Outcome:
        """One call of ``core.propose`` on ``space`` at ``NOW`` unless told
        otherwise; ``contact`` is a contact (by primary key) or the text the
        caller sends."""
        call.setdefault("date", NOW)
        if contact is not None:
            call.setdefault(
                "contact", contact if isinstance(contact, str) else str(contact.pk)
            )
        if "themes" in call:
            call["themes"] = tuple(call["themes"])
        code = space if isinstance(space, str) else space.code
        return core.propose(
            self.catalogue(), Call(space=code, **call), self.directory, self.history
        )
