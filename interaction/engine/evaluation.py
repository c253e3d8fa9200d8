"""Steps 3 and 4 of SPEC §5 for one offer, compiled into one function.

Every call evaluates every in-scope offer of its space, so each offer's terms
(dates, target filters through every ancestor, required content, weight rows
and multipliers) become a single Python function when the catalogue is
compiled: no per-offer interpretation of trees or formulas during a call.
"""

from __future__ import annotations

import ast

from ..formulas import formula_statements, parse
from .catalogue import OfferEvaluator, OfferTerms, Window
from .codegen import Namespace, compile_function, load, store
from .predicates import condition_expression

OUTSIDE_DATES = "outside the dates of the offer or of a category above it"
MISSING_CONTENT = "required content of the space is missing"


def compile_evaluator(terms: OfferTerms) -> OfferEvaluator:
    """``evaluate(values, today, date, space_id)`` for an offer with ``terms``:
    its weight (the highest applicable weight row times the active multipliers;
    0 when no row applies), or the reason it is not eligible."""
    namespace = Namespace()
    body: list[ast.stmt] = []
    if terms.blocked:
        body.append(ast.Return(ast.Constant(terms.blocked)))
    else:
        body += _eligibility(terms, namespace)
        body += _weight(terms, namespace)
    return compile_function(
        "evaluate", ("values", "today", "date", "space_id"), body, namespace
    )


def _eligibility(terms: OfferTerms, namespace: Namespace) -> list[ast.stmt]:
    checks = []
    if terms.window is not None:
        checks.append((_within(terms.window, namespace), OUTSIDE_DATES))
    for target_filter in terms.filters:
        test = condition_expression(target_filter.condition, terms.kinds, namespace)
        reason = f"contact does not match the target filter of {target_filter.label}"
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
    body.append(ast.Return(load(weight)))
    return body


def _within(window: Window, namespace: Namespace) -> ast.expr:
    """``start <= date <= end`` (a missing bound is left out)."""
    left, operators, comparators = load("date"), [], []
    if window.start is not None:
        left = namespace.constant(window.start)
        operators.append(ast.LtE())
        comparators.append(load("date"))
    if window.end is not None:
        operators.append(ast.LtE())
        comparators.append(namespace.constant(window.end))
    return ast.Compare(left, operators, comparators)
