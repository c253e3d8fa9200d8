"""Build Python functions from syntax trees: how conditions and offers compile.

The engine evaluates every offer of a space for every call, so conditions,
weight formulas and whole offers are compiled into plain Python functions
once per publish instead of being interpreted per call (a tree of closures
costs several times more). The functions are built from :mod:`ast` nodes,
never from source text: user values (field names, operands, labels) only ever
become constants, and the functions see no builtins but the ones given here.
Nothing is passed to ``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import itertools
import sys
import types
from collections.abc import Callable
from typing import Any

_counter = itertools.count()


class Namespace:
    """The globals of one compiled function: helpers, constants, local names."""

    def __init__(self, **helpers: Any):
        self.globals: dict[str, Any] = {"__builtins__": {}, **helpers}
        self._names = itertools.count()

    def constant(self, value: Any) -> ast.expr:
        """``value`` as an expression: a literal, or a global holding it."""
        if value is None or isinstance(value, bool | int | float | str):
            return ast.Constant(value)
        name = f"_c{next(self._names)}"
        self.globals[name] = value
        return load(name)

    def helper(self, name: str, value: Callable) -> ast.expr:
        self.globals[name] = value
        return load(name)

    def local(self) -> str:
        """A fresh local variable name."""
        return f"_v{next(self._names)}"


def load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def store(name: str) -> ast.Name:
    return ast.Name(name, ast.Store())


def call(function: ast.expr, *args: ast.expr) -> ast.Call:
    return ast.Call(function, list(args), [])


def compile_function(
    name: str, parameters: tuple[str, ...], body: list[ast.stmt], namespace: Namespace
) -> Callable:
    """A function ``name(*parameters)`` running ``body`` in ``namespace``."""
    version_arguments: dict[str, Any] = (
        {"type_params": []} if sys.version_info >= (3, 12) else {}
    )
    definition = ast.FunctionDef(
        name=name,
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(parameter) for parameter in parameters],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=body,
        decorator_list=[],
        returns=None,
        **version_arguments,
    )
    module = ast.fix_missing_locations(ast.Module([definition], type_ignores=[]))
    filename = f"<interaction {name} {next(_counter)}>"
    code = compile(module, filename, "exec", dont_inherit=True)
    function_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    return types.FunctionType(function_code, namespace.globals, name)
