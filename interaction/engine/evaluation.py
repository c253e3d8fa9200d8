"""Steps 3 and 4 of SPEC §5 for one offer, compiled into one function.

Every call evaluates every in-scope offer of its space, so each offer's terms
(dates, target filters through every ancestor, required content, weight rows
and multipliers) become a single Python function, compiled once per published
version: no per-offer interpretation of trees or formulas during a call.
"""

from __future__ import annotations

import ast
import datetime
import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .codegen import Namespace, compile_function, load, store
from .conditions import CONTEXT_PREFIX, condition_names
from .formulas import MAX_MAGNITUDE, OUT_OF_RANGE, formula_statements, names, parse
from .predicates import condition_expression

OUTSIDE_DATES = "outside the dates of the offer or of a category above it"
MISSING_CONTENT = "required content of the space is missing"
NOT_TARGETABLE = "a condition or weight formula reads fields that are not targetable"
#: Followed by whose filter it is (``TargetFilter.label``).
NOT_MATCHING = "contact does not match the target filter of"


@dataclass(frozen=True)
class Window:
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None


@dataclass(frozen=True)
class TargetFilter:
    #: Whose filter it is, for the trace: "the offer", "category “cards”".
    label: str
    condition: dict


@dataclass(frozen=True)
class WeightRow:
    formula: str
    window: Window = Window()
    space_id: int | None = None
    condition: dict | None = None


@dataclass(frozen=True)
class Multiplier:
    value: float
    window: Window = Window()


@dataclass(frozen=True)
class OfferTerms:
    """What decides whether an offer is eligible for a contact, and its weight."""

    #: Why the offer can never be proposed (a disabled or unpublished ancestor).
    blocked: str = ""
    #: The intersection of the offer's and every ancestor category's dates;
    #: ``None`` when none of them is dated.
    window: Window | None = None
    #: Environment, ancestor categories' and the offer's target filters.
    filters: tuple[TargetFilter, ...] = ()
    #: Field name -> kind, for comparing dates as dates.
    kinds: Mapping[str, str] = field(default_factory=dict)
    #: Space ids whose required content fields this offer leaves empty.
    incomplete_space_ids: frozenset[int] = frozenset()
    weight_rows: tuple[WeightRow, ...] = ()
    multipliers: tuple[Multiplier, ...] = ()
    #: The contact fields the offer may read (the dimension's targetable
    #: fields); ``None``: no restriction. A target filter, weight condition or
    #: formula reading another field makes the offer ineligible: it fails
    #: closed, whatever the contact's value.
    readable: frozenset[str] | None = None

    @functools.cached_property
    def evaluate(self) -> OfferEvaluator:
        """The terms compiled, once: by :func:`precompile` when a catalogue is
        built (compiling takes ~0.3 ms an offer, too much for a call to pay),
        or here on first use for terms built otherwise (e.g. in tests)."""
        return compile_evaluator(self)


#: ``evaluate(values, today, date, space_id)``: the offer's weight for these
#: contact values at ``date`` in the space (≤ 0: not eligible), or why the
#: offer is not eligible.
OfferEvaluator = Callable[
    [Mapping[str, Any], datetime.date, datetime.datetime, int], "float | str"
]


def terms_key(terms: OfferTerms) -> bytes:
    """A digest of everything ``terms`` compile from: terms with equal keys
    compile to the same evaluator, so a rebuilt catalogue reuses the evaluators
    of the offers whose terms (their own or an ancestor's) did not change.

    Built from the terms' ``repr``, stricter than ``==`` (``1`` and ``True``,
    or two time zones of one instant, differ), so equal keys never hide a
    difference the compiled code could see; a difference that does not matter
    (a set's order) only costs a compilation.
    """
    return hashlib.blake2b(repr(terms).encode(), digest_size=16).digest()


def precompile(
    terms: OfferTerms, evaluator: OfferEvaluator | None = None
) -> OfferEvaluator:
    """Compile ``terms`` now rather than on first use, or give them
    ``evaluator``, compiled from terms with the same :func:`terms_key`."""
    if evaluator is None:
        evaluator = compile_evaluator(terms)
    # Where the cached property keeps its value (the dataclass is frozen).
    terms.__dict__["evaluate"] = evaluator
    return evaluator


def is_compiled(terms: OfferTerms) -> bool:
    return "evaluate" in terms.__dict__


def compile_evaluator(terms: OfferTerms) -> OfferEvaluator:
    """``evaluate(values, today, date, space_id)`` for an offer with ``terms``:
    its weight (the highest applicable weight row times the active multipliers;
    0 when no row applies), or the reason it is not eligible."""
    namespace = Namespace()
    body: list[ast.stmt] = []
    if terms.blocked:
        body.append(ast.Return(ast.Constant(terms.blocked)))
    elif unreadable := unreadable_fields(terms):
        reason = ", ".join(f"“{name}”" for name in unreadable)
        body.append(ast.Return(ast.Constant(f"{NOT_TARGETABLE}: {reason}")))
    else:
        body += _eligibility(terms, namespace)
        body += _weight(terms, namespace)
    return compile_function(
        "evaluate", ("values", "today", "date", "space_id"), body, namespace
    )


def unreadable_fields(terms: OfferTerms) -> list[str]:
    """The contact fields ``terms`` read that are not ``terms.readable``."""
    if terms.readable is None:
        return []
    read: set[str] = set()
    for target_filter in terms.filters:
        read |= condition_names(target_filter.condition)
    for row in terms.weight_rows:
        read |= condition_names(row.condition) | names(parse(row.formula))
    return sorted(
        name for name in read - terms.readable if not name.startswith(CONTEXT_PREFIX)
    )


def _eligibility(terms: OfferTerms, namespace: Namespace) -> list[ast.stmt]:
    checks = []
    if terms.window is not None:
        checks.append((_within(terms.window, namespace), OUTSIDE_DATES))
    for target_filter in terms.filters:
        test = condition_expression(target_filter.condition, terms.kinds, namespace)
        reason = f"{NOT_MATCHING} {target_filter.label}"
        checks.append((test, reason))
    if terms.incomplete_space_ids:
        incomplete = namespace.constant(terms.incomplete_space_ids)
        test = ast.Compare(load("space_id"), [ast.NotIn()], [incomplete])
        checks.append((test, MISSING_CONTENT))
    return [
        ast.If(ast.UnaryOp(ast.Not(), test), [ast.Return(ast.Constant(reason))], [])
        for test, reason in checks
    ]


def _weight(terms: OfferTerms, namespace: Namespace) -> list[ast.stmt]:
    weight, candidate = "weight", "candidate"
    if not terms.weight_rows:
        body: list[ast.stmt] = [ast.Assign([store(weight)], ast.Constant(1.0))]
    else:
        body = [ast.Assign([store(weight)], ast.Constant(None))]
        for row in terms.weight_rows:
            tests = []
            if row.window.start is not None or row.window.end is not None:
                tests.append(_within(row.window, namespace))
            if row.space_id is not None:
                tests.append(
                    ast.Compare(
                        load("space_id"), [ast.Eq()], [ast.Constant(row.space_id)]
                    )
                )
            if row.condition:
                tests.append(
                    condition_expression(row.condition, terms.kinds, namespace)
                )
            keep_highest = ast.If(
                ast.BoolOp(
                    ast.Or(),
                    [
                        ast.Compare(load(weight), [ast.Is()], [ast.Constant(None)]),
                        ast.Compare(load(candidate), [ast.Gt()], [load(weight)]),
                    ],
                ),
                [ast.Assign([store(weight)], load(candidate))],
                [],
            )
            statements = formula_statements(
                parse(row.formula), candidate, namespace
            ) + [keep_highest]
            if tests:
                test = tests[0] if len(tests) == 1 else ast.BoolOp(ast.And(), tests)
                body.append(ast.If(test, statements, []))
            else:
                body += statements
        body.append(
            ast.If(
                ast.Compare(load(weight), [ast.Is()], [ast.Constant(None)]),
                [ast.Return(ast.Constant(0.0))],
                [],
            )
        )
    for multiplier in terms.multipliers:
        scale = ast.AugAssign(store(weight), ast.Mult(), ast.Constant(multiplier.value))
        if multiplier.window.start is None and multiplier.window.end is None:
            body.append(scale)
        else:
            body.append(ast.If(_within(multiplier.window, namespace), [scale], []))
    if terms.multipliers:
        # Rows are bounded by their formulas; a multiplier may take the product
        # out of the domain (or to infinity, which JSON cannot carry).
        bounded = ast.Compare(
            ast.Constant(-MAX_MAGNITUDE),
            [ast.LtE(), ast.LtE()],
            [load(weight), ast.Constant(MAX_MAGNITUDE)],
        )
        body.append(
            ast.If(
                ast.UnaryOp(ast.Not(), bounded),
                [ast.Return(ast.Constant(OUT_OF_RANGE))],
                [],
            )
        )
    body.append(ast.Return(load(weight)))
    return body


def _within(window: Window, namespace: Namespace) -> ast.expr:
    """``start <= date <= end`` (a missing bound is left out)."""
    left: ast.expr = load("date")
    operators: list[ast.cmpop] = []
    comparators: list[ast.expr] = []
    if window.start is not None:
        left = namespace.constant(window.start)
        operators.append(ast.LtE())
        comparators.append(load("date"))
    if window.end is not None:
        operators.append(ast.LtE())
        comparators.append(namespace.constant(window.end))
    return ast.Compare(left, operators, comparators)


def intersect(windows: list[Window]) -> Window | None:
    """The window inside every one of ``windows``; ``None`` if none is dated."""
    starts = [w.start for w in windows if w.start is not None]
    ends = [w.end for w in windows if w.end is not None]
    if not starts and not ends:
        return None
    return Window(max(starts, default=None), min(ends, default=None))
