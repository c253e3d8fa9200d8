"""Weight formulas (SPEC §4): safe arithmetic over contact and context values.

A formula is a number (``2.5``) or an arithmetic expression such as
``1 + age / 10`` or ``context.basket * 0.01``. It is parsed with :mod:`ast`
and only numbers, names, ``+ - * / // %``, parentheses and the functions
``min``, ``max``, ``abs`` and ``round`` are accepted; nothing is ever passed to
``eval``. The checked tree is rebuilt node by node into a function (see
:mod:`.codegen`).

Formulas compute in a bounded numeric domain, so that no formula can take a
worker's time or produce a weight JSON cannot carry: numbers written in a
formula and the values it reads lie within ±:data:`MAX_MAGNITUDE`, and so does
every intermediate and final result (an operation is checked inline when it
runs unless its bound is known when compiling, see :func:`_bounded`);
``round`` takes at most :data:`ROUND_DIGITS` digits either way; ``**`` is not
an operator. A value read that is not a finite number (text, ``None``, NaN,
infinity) makes the formula "not computable" (0). A number out of the domain,
written or computed, makes the offer ineligible for that call
(:data:`OUT_OF_RANGE`). :func:`validate_formula` refuses what it can see
before: numbers, ``round`` digits and argument counts written in the formula.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .codegen import Namespace, call, load, store
from .conditions import ANY, BOOL, NUMBER, ConditionSchema
from .errors import FormulaError

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_UNARY = (ast.UAdd, ast.USub)
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
}
_MAX_LENGTH = 500
#: Calls: (fewest, most) arguments; ``None``: no most.
_ARITY: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "round": (1, 2),
}

#: Every number a formula writes, reads or computes lies within ±this (below
#: 2**53, so whole numbers stay exact as floats).
MAX_MAGNITUDE = 1e15
_MAX_TEXT = "1e15"
#: ``round(x, digits)``: digits within ±this.
ROUND_DIGITS = 15
#: Why an offer is not eligible when its weight leaves the domain.
OUT_OF_RANGE = "weight formula is out of range"


class OutOfRange(Exception):
    """A number of a compiled formula left ±``MAX_MAGNITUDE`` (or ``round``'s
    digits ±``ROUND_DIGITS``)."""


def _out_of_range() -> float:
    raise OutOfRange


def _round(number: float, digits: float | None = None) -> float:
    """``round`` with bounded digits (computed digits may be whole floats)."""
    if digits is None:
        return round(number)
    if not -ROUND_DIGITS <= digits <= ROUND_DIGITS:
        raise OutOfRange
    if isinstance(digits, float):
        if not digits.is_integer():
            raise ValueError("round() needs a whole number of digits")
        digits = int(digits)
    return round(number, digits)


def _name_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def parse(text: str) -> ast.Expression:
    """Parse ``text`` and check it uses only safe arithmetic."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("Enter a number or a formula.")
    if len(text) > _MAX_LENGTH:
        raise FormulaError(f"A formula has at most {_MAX_LENGTH} characters.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"“{text}” is not a valid formula: {error.msg}.") from None
    for node in ast.walk(tree.body):
        _check_node(node)
    return tree


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float) or isinstance(node.value, bool):
            raise FormulaError(f"Only numbers are allowed, not {node.value!r}.")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise FormulaError("Only + - * / // % are allowed in a formula.")
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise FormulaError("Only + and - signs are allowed in a formula.")
    elif isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise FormulaError(
                f"Only the functions {', '.join(_FUNCTIONS)} can be called."
            )
        if node.keywords or not node.args:
            raise FormulaError("Functions take plain arguments, e.g. max(1, age).")
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name) or node.value.id != "context":
            raise FormulaError("Only “context.name” can be written with a dot.")
    elif not isinstance(node, ast.Name | ast.operator | ast.unaryop | ast.Load):
        raise FormulaError(
            f"“{type(node).__name__}” is not allowed in a formula: use numbers, "
            "field names, + - * / and parentheses."
        )


def names(tree: ast.Expression) -> set[str]:
    """The field names (``age``, ``context.basket``) a parsed formula reads."""
    found: set[str] = set()
    for node in ast.walk(tree.body):
        if isinstance(node, ast.Attribute):
            # ``parse`` accepts only ``context.name``: never ``None`` here.
            if (name := _name_of(node)) is not None:
                found.add(name)
        elif isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
            found.add(node.id)
    return {
        name
        for name in found
        if not any(other != name and other.startswith(name + ".") for other in found)
    }


def validate_formula(text: str, schema: ConditionSchema) -> None:
    """Raise ``FormulaError`` unless ``text`` is safe arithmetic over numbers."""
    tree = parse(text)
    _check_bounds(tree)
    for name in names(tree):
        spec = schema.resolve(name)
        if spec.kind not in (NUMBER, BOOL, ANY):
            raise FormulaError(
                f"“{name}” is not a number and cannot be used in a formula."
            )


def _literal(node: ast.AST) -> int | float | None:
    """The number ``node`` writes (``3``, ``-3``), or ``None`` if it computes one."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return sign * node.value
    return None


def _check_bounds(tree: ast.Expression) -> None:
    """Refuse numbers, ``round`` digits and argument counts out of bounds."""
    for node in ast.walk(tree.body):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)  # what ``parse`` accepts
            and not (-MAX_MAGNITUDE <= node.value <= MAX_MAGNITUDE)
        ):
            raise FormulaError(
                f"Numbers in a formula lie between -{_MAX_TEXT} and {_MAX_TEXT}."
            )
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        function = node.func.id
        fewest, most = _ARITY[function]
        if len(node.args) < fewest or (most is not None and len(node.args) > most):
            expected = {
                "abs": "one argument",
                "round": "one or two arguments: round(x) or round(x, digits)",
            }.get(function, f"at least {fewest} arguments")
            raise FormulaError(f"{function}() takes {expected}.")
        if function == "round" and len(node.args) == 2:
            digits = _literal(node.args[1])
            if digits is not None and not (
                isinstance(digits, int) and -ROUND_DIGITS <= digits <= ROUND_DIGITS
            ):
                raise FormulaError(
                    f"round() takes a whole number of digits between "
                    f"-{ROUND_DIGITS} and {ROUND_DIGITS}."
                )


def formula_statements(
    tree: ast.Expression, target: str, namespace: Namespace
) -> list[ast.stmt]:
    """Statements setting the local ``target`` to the formula's value (a float)
    for the mapping ``values``; 0.0 when the formula cannot be computed. A number
    out of ±``MAX_MAGNITUDE`` returns :data:`OUT_OF_RANGE` from the function the
    statements are compiled into."""
    out_of_range: list[ast.stmt] = [ast.Return(ast.Constant(OUT_OF_RANGE))]
    if isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, int | float):
        if not -MAX_MAGNITUDE <= tree.body.value <= MAX_MAGNITUDE:
            return out_of_range
        return [ast.Assign([store(target)], ast.Constant(float(tree.body.value)))]
    value = call(namespace.helper("float", float), _expression(tree.body, namespace))

    def handler(
        errors: tuple[type[Exception], ...], body: list[ast.stmt]
    ) -> ast.ExceptHandler:
        names = [namespace.helper(error.__name__, error) for error in errors]
        return ast.ExceptHandler(ast.Tuple(names, ast.Load()), None, body)

    return [
        ast.Try(
            body=[ast.Assign([store(target)], value)],
            handlers=[
                handler((OutOfRange, OverflowError), out_of_range),
                handler(
                    (TypeError, ValueError, ZeroDivisionError),
                    [ast.Assign([store(target)], ast.Constant(0.0))],
                ),
            ],
            orelse=[],
            finalbody=[],
        )
    ]


def _number(value: object) -> float | None:
    """``value`` if it is a finite number, else ``None`` (so ``"3" * 2`` is never
    run, and NaN or infinity are not numbers); ``OutOfRange`` beyond the domain."""
    # A tuple, not ``int | float``: ``isinstance`` checks it faster (hot path).
    if isinstance(value, _NUMBER_TYPES):
        if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
            return value
        if isinstance(value, float) and not math.isfinite(value):
            return None
        raise OutOfRange
    if isinstance(value, Decimal):
        return _number(float(value))
    return None


_NUMBER_TYPES = (int, float)


def _expression(node: ast.AST, namespace: Namespace) -> ast.expr:
    """A checked formula node rebuilt over ``values``: names become lookups."""
    return _bounded(node, namespace)[0]


#: ``MAX_MAGNITUDE`` as an exact number, for bounds computed at compile time.
_LIMIT = Fraction(MAX_MAGNITUDE)


def _checked(expression: ast.expr, namespace: Namespace) -> ast.expr:
    """``v if -MAX <= (v := expression) <= MAX else out of range``, inline."""
    result = namespace.local()
    within = ast.Compare(
        ast.Constant(-MAX_MAGNITUDE),
        [ast.LtE(), ast.LtE()],
        [ast.NamedExpr(store(result), expression), ast.Constant(MAX_MAGNITUDE)],
    )
    return ast.IfExp(
        within, load(result), call(namespace.helper("_out_of_range", _out_of_range))
    )


def _bounded(node: ast.AST, namespace: Namespace) -> tuple[ast.expr, Fraction]:
    """``node`` rebuilt, and an exact bound of its magnitude when it runs.

    Values read and constants lie within the domain, so the bound of most
    operations is known when compiling (``1 + age / 10`` never leaves it):
    only an operation whose bound may exceed the domain (``age * 2``, a
    division by a value read) is checked when it runs.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if not -MAX_MAGNITUDE <= node.value <= MAX_MAGNITUDE:
            return call(namespace.helper("_out_of_range", _out_of_range)), _LIMIT
        return ast.Constant(node.value), abs(Fraction(node.value))
    name = _name_of(node)
    if name is not None:
        lookup = call(
            ast.Attribute(load("values"), "get", ast.Load()), ast.Constant(name)
        )
        return call(namespace.helper("_number", _number), lookup), _LIMIT
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise FormulaError("Only + - * / // % are allowed in a formula.")
        left, left_bound = _bounded(node.left, namespace)
        right, right_bound = _bounded(node.right, namespace)
        bound: Fraction | None
        if isinstance(node.op, ast.Add | ast.Sub):
            bound = left_bound + right_bound
        elif isinstance(node.op, ast.Mult):
            bound = left_bound * right_bound
        elif isinstance(node.op, ast.Mod):
            bound = right_bound
        else:
            divisor = _literal(node.right)
            bound = None
            if divisor:
                bound = left_bound / abs(Fraction(divisor))
                if isinstance(node.op, ast.FloorDiv):
                    bound += 1
        operation = ast.BinOp(left, type(node.op)(), right)
        if bound is not None and bound <= _LIMIT:
            return operation, bound
        return _checked(operation, namespace), _LIMIT
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise FormulaError("Only + and - signs are allowed in a formula.")
        operand, bound = _bounded(node.operand, namespace)
        return ast.UnaryOp(type(node.op)(), operand), bound
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = node.func.id
        arguments = [_bounded(argument, namespace) for argument in node.args]
        helper_name, helper = f"_{function}", _FUNCTIONS[function]
        largest = max(argument_bound for _argument, argument_bound in arguments)
        if function == "round":
            digits = _literal(node.args[1]) if len(node.args) == 2 else 0
            if isinstance(digits, int) and -ROUND_DIGITS <= digits <= ROUND_DIGITS:
                # Rounding moves a number by at most one unit of its last digit.
                largest = arguments[0][1] + 10 ** max(0, -digits)
            else:
                # Digits computed (or written out of range): checked when run.
                helper_name, helper = "_round_checked", _round
                largest = arguments[0][1] + 10**ROUND_DIGITS
        expression = call(
            namespace.helper(helper_name, helper),
            *(argument for argument, _bound in arguments),
        )
        if largest <= _LIMIT:
            return expression, largest
        return _checked(expression, namespace), _LIMIT
    raise FormulaError(f"Unsupported formula element {type(node).__name__}.")


# -- Interval arithmetic: where a formula's value can lie ---------------------------

#: ``(lowest, highest)``, both included.
Interval = tuple[float, float]
#: Where any number a formula reads or computes lies (see the module's docstring).
EVERYTHING: Interval = (-MAX_MAGNITUDE, MAX_MAGNITUDE)


def formula_interval(tree: ast.Expression, domains: Mapping[str, Interval]) -> Interval:
    """Where the value :func:`formula_statements` gives lies, for values read
    within ``domains`` (name -> interval; another name: anything in the bounded
    domain, :data:`EVERYTHING`), when it is a number.

    Sound, not always tight: whatever the values within the domains, the
    formula's value is in the interval, or the offer is ineligible (a number
    out of the domain). Endpoints are computed with the very operations the
    formula runs (rounding is monotone, so a float result never passes the
    endpoint computed the same way), and clipped to the bounded domain, out of
    which the formula never yields a value. A value read that is not a number,
    a division by zero or a refused ``round`` make the formula 0: every
    formula but a plain number includes 0.
    """
    body = tree.body
    if isinstance(body, ast.Constant) and isinstance(body.value, int | float):
        value = float(body.value)
        return _clip(value, value)
    low, high = _interval(body, domains)
    return min(low, 0.0), max(high, 0.0)


def _clip(low: float, high: float) -> Interval:
    return max(low, -MAX_MAGNITUDE), min(high, MAX_MAGNITUDE)


def _signed(positive: bool, negative: bool) -> Interval:
    """What is left of the domain knowing only the result's sign."""
    if positive:
        return 0.0, MAX_MAGNITUDE
    if negative:
        return -MAX_MAGNITUDE, 0.0
    return EVERYTHING


def _corners(
    operation: Callable[[float, float], float], left: Interval, right: Interval
) -> Interval:
    values = [operation(a, b) for a in left for b in right]
    return _clip(min(values), max(values))


def _division(node: ast.BinOp, left: Interval, right: Interval) -> Interval:
    """``/`` and ``//``: monotone in each operand where the divisor keeps its sign."""
    operation = (lambda a, b: a / b) if isinstance(node.op, ast.Div) else _floordiv
    (a, b), (c, d) = left, right
    if c > 0 or d < 0:
        return _corners(operation, left, right)
    if c == d == 0 or a == b == 0:
        # Always a division by zero (the formula gives 0), or 0 / y.
        return 0.0, 0.0
    # The divisor may come as close to 0 as it likes: only signs are known.
    if c == 0:  # divisor in (0, d]
        return _signed(a >= 0, b <= 0)
    if d == 0:  # divisor in [c, 0)
        return _signed(b <= 0, a >= 0)
    return EVERYTHING


def _floordiv(a: float, b: float) -> float:
    return a // b


def _modulo(left: Interval, right: Interval) -> Interval:
    """``x % y`` takes the sign of ``y`` and stays within it (``y`` included:
    a float ``-tiny % y`` rounds to ``y``)."""
    (a, b), (c, d) = left, right
    if c == d == 0:
        return 0.0, 0.0
    if c > 0:
        if a >= 0:
            # 0 <= x < y: x itself; else below both x and y.
            return (a, b) if b < c else (0.0, min(b, d))
        return 0.0, d
    if d < 0:
        if b <= 0:
            return (a, b) if a > d else (max(a, c), 0.0)
        return c, 0.0
    return min(c, 0.0), max(d, 0.0)


def _interval(node: ast.AST, domains: Mapping[str, Interval]) -> Interval:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return _clip(node.value, node.value)
    name = _name_of(node)
    if name is not None:
        low, high = domains.get(name, EVERYTHING)
        return _clip(low, high)
    if isinstance(node, ast.UnaryOp):
        low, high = _interval(node.operand, domains)
        return (-high, -low) if isinstance(node.op, ast.USub) else (low, high)
    if isinstance(node, ast.BinOp):
        left = _interval(node.left, domains)
        right = _interval(node.right, domains)
        if isinstance(node.op, ast.Add):
            return _clip(left[0] + right[0], left[1] + right[1])
        if isinstance(node.op, ast.Sub):
            return _clip(left[0] - right[1], left[1] - right[0])
        if isinstance(node.op, ast.Mult):
            return _corners(lambda a, b: a * b, left, right)
        if isinstance(node.op, ast.Div | ast.FloorDiv):
            return _division(node, left, right)
        if isinstance(node.op, ast.Mod):
            return _modulo(left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        arguments = [_interval(argument, domains) for argument in node.args]
        return _function(node, node.func.id, arguments)
    return EVERYTHING


def _function(node: ast.Call, function: str, arguments: list[Interval]) -> Interval:
    if function in ("min", "max") and arguments:
        pick = min if function == "min" else max
        return pick(low for low, _ in arguments), pick(high for _, high in arguments)
    if function == "abs" and len(arguments) == 1:
        low, high = arguments[0]
        if low >= 0:
            return low, high
        if high <= 0:
            return -high, -low
        return 0.0, max(-low, high)
    if function == "round" and 1 <= len(arguments) <= 2:
        low, high = arguments[0]
        digits = _literal(node.args[1]) if len(arguments) == 2 else None
        if len(arguments) == 1:
            return _clip(round(low), round(high))
        if isinstance(digits, int) and -ROUND_DIGITS <= digits <= ROUND_DIGITS:
            # Rounding to a grid is monotone.
            return _clip(round(low, digits), round(high, digits))
        # Computed digits: rounding keeps the sign, nothing more is known.
        return _signed(low >= 0, high <= 0)
    # Wrong arguments: a TypeError when run, so the formula gives 0.
    return 0.0, 0.0
