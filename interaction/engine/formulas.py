"""Weight formulas (SPEC §4): safe arithmetic over contact and context values.

A formula is a number (``2.5``) or an arithmetic expression such as
``1 + age / 10`` or ``context.basket * 0.01``. It is parsed with :mod:`ast`
and only numbers, names, ``+ - * / // %``, parentheses and the functions
``min``, ``max``, ``abs`` and ``round`` are accepted; nothing is ever passed to
``eval``. The checked tree is rebuilt node by node into a function (see
:mod:`.codegen`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import Decimal
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
    for name in names(tree):
        spec = schema.resolve(name)
        if spec.kind not in (NUMBER, BOOL, ANY):
            raise FormulaError(
                f"“{name}” is not a number and cannot be used in a formula."
            )


def formula_statements(
    tree: ast.Expression, target: str, namespace: Namespace
) -> list[ast.stmt]:
    """Statements setting the local ``target`` to the formula's value (a float)
    for the mapping ``values``; 0.0 when the formula cannot be computed."""
    if isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, int | float):
        return [ast.Assign([store(target)], ast.Constant(float(tree.body.value)))]
    value = call(namespace.helper("float", float), _expression(tree.body, namespace))
    errors = ast.Tuple(
        [
            namespace.helper(error.__name__, error)
            for error in (TypeError, ValueError, ZeroDivisionError, OverflowError)
        ],
        ast.Load(),
    )
    return [
        ast.Try(
            body=[ast.Assign([store(target)], value)],
            handlers=[
                ast.ExceptHandler(
                    errors, None, [ast.Assign([store(target)], ast.Constant(0.0))]
                )
            ],
            orelse=[],
            finalbody=[],
        )
    ]


def _number(value: object) -> float | None:
    """``value`` if it is a number, else ``None`` (so ``"3" * 2`` is never run)."""
    if isinstance(value, Decimal):
        return float(value)
    return value if isinstance(value, int | float) else None


def _expression(node: ast.AST, namespace: Namespace) -> ast.expr:
    """A checked formula node rebuilt over ``values``: names become lookups."""
    if isinstance(node, ast.Constant):
        return ast.Constant(node.value)
    name = _name_of(node)
    if name is not None:
        lookup = call(
            ast.Attribute(load("values"), "get", ast.Load()), ast.Constant(name)
        )
        return call(namespace.helper("_number", _number), lookup)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise FormulaError("Only + - * / // % are allowed in a formula.")
        return ast.BinOp(
            _expression(node.left, namespace),
            type(node.op)(),
            _expression(node.right, namespace),
        )
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise FormulaError("Only + and - signs are allowed in a formula.")
        return ast.UnaryOp(type(node.op)(), _expression(node.operand, namespace))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = node.func.id
        return call(
            namespace.helper(f"_{function}", _FUNCTIONS[function]),
            *(_expression(argument, namespace) for argument in node.args),
        )
    raise FormulaError(f"Unsupported formula element {type(node).__name__}.")
