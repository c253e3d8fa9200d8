"""The template sandbox that space templates render in (SPEC §2, offer space).

A space's HTML and text templates are written in the admin by Interaction
administrators and rendered during anonymous API calls: they are hostile input.
:class:`SandboxEngine` is a Django template engine with

- no loaders: no template or file can be read (no ``include``, ``extends``,
  ``load``, ``{% debug %}``, ``url``, ``csrf_token``, ``lorem``…);
- no default builtins: only the tags in :data:`ALLOWED_TAGS` and the filters in
  :data:`ALLOWED_FILTERS` (never ``safe``/``safeseq``, ``pprint``,
  ``json_script``); filters whose argument sets the size of the result are
  bounded (:data:`MAX_WIDTH`, :data:`MAX_DECIMALS`);
- a budget per render: :data:`MAX_LOOP_ITERATIONS` loop iterations in all,
  :data:`MAX_OUTPUT` characters of output, :data:`MAX_VALUE_LENGTH` characters
  (or items) per filter result and :data:`MAX_RENDER_SECONDS` of wall-clock
  time; a template is at most :data:`MAX_TEMPLATE_LENGTH` characters.

Past a bound, rendering raises :class:`SandboxLimitExceeded`. The context must be
plain data (:func:`plain`): templates never see model instances, and the dicts
they see cannot be changed from a template.
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
import functools
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.template import (
    Context,
    Engine,
    Library,
    Node,
    NodeList,
    Template,
    TemplateDoesNotExist,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import Lexer, Parser
from django.template.defaulttags import (
    AutoEscapeControlNode,
    CommentNode,
    ForNode,
    IfChangedNode,
    IfNode,
    SpacelessNode,
    WithNode,
)
from django.utils.safestring import SafeString, mark_safe

#: A space template is at most this many characters long.
MAX_TEMPLATE_LENGTH = 20_000
#: Iterations of all ``{% for %}`` loops of one render together.
MAX_LOOP_ITERATIONS = 10_000
#: Characters one render may output.
MAX_OUTPUT = 100_000
#: Characters (or items) of one filter result.
MAX_VALUE_LENGTH = 100_000
#: Wall-clock seconds one render may take.
MAX_RENDER_SECONDS = 0.5
#: Largest width of ``ljust``, ``rjust``, ``center`` and of the numbers in a
#: ``stringformat`` specifier.
MAX_WIDTH = 1_000
#: Largest number of decimal places of ``floatformat``.
MAX_DECIMALS = 20

ALLOWED_TAGS = (
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "with",
)
#: Closing and intermediate tags of the allowed ones.
_INNER_TAGS = frozenset(
    {
        "elif",
        "else",
        "empty",
        "endautoescape",
        "endcomment",
        "endfilter",
        "endfor",
        "endif",
        "endifchanged",
        "endspaceless",
        "endverbatim",
        "endwith",
    }
)
#: Tags a template might try, with why they are refused.
FORBIDDEN_TAGS = {
    "load": "space templates cannot load tag libraries",
    "include": "space templates cannot read other templates or files",
    "extends": "space templates cannot read other templates or files",
    "block": "space templates cannot extend other templates",
    "ssi": "space templates cannot read files",
    "debug": "it would show the whole context",
    "csrf_token": "space templates have no request",
    "querystring": "space templates have no request",
    "url": "space templates cannot reverse URLs; use proposition.tracked_url",
    "lorem": "its output is unbounded",
    "widthratio": "its output is unbounded",
    "image": "use offer.image or offer.image_banner",
}
ALLOWED_FILTERS = (
    "add",
    "addslashes",
    "capfirst",
    "center",
    "cut",
    "date",
    "default",
    "default_if_none",
    "dictsort",
    "dictsortreversed",
    "divisibleby",
    "escape",
    "escapejs",
    "escapeseq",
    "filesizeformat",
    "first",
    "floatformat",
    "force_escape",
    "get_digit",
    "iriencode",
    "join",
    "last",
    "length",
    "linebreaks",
    "linebreaksbr",
    "linenumbers",
    "ljust",
    "lower",
    "make_list",
    "phone2numeric",
    "pluralize",
    "random",
    "rjust",
    "slice",
    "slugify",
    "stringformat",
    "striptags",
    "time",
    "timesince",
    "timeuntil",
    "title",
    "truncatechars",
    "truncatechars_html",
    "truncatewords",
    "truncatewords_html",
    "unordered_list",
    "upper",
    "urlencode",
    "urlize",
    "urlizetrunc",
    "wordcount",
    "wordwrap",
    "yesno",
)
FORBIDDEN_FILTERS = {
    "safe": "offer.html_content is already sanitised HTML, and every other "
    "value is escaped",
    "safeseq": "every value is escaped",
    "pprint": "it shows the internals of a value",
    "json_script": "space templates cannot emit scripts",
    "richtext": "offer.html_content is already rendered rich text",
}


class SandboxError(Exception):
    """A render the sandbox stopped."""


class SandboxLimitExceeded(SandboxError):
    """A render went past one of the sandbox's bounds."""


class UnknownVariable(SandboxError):
    """A template used a variable its context does not have."""


# Plain data ------------------------------------------------------------------


def _refuse(self, *args, **kwargs):
    raise TypeError("The sandbox's data cannot be changed.")


# A template looking up ``offer.clear`` gets nothing rather than a call.
_refuse.alters_data = True  # type: ignore[attr-defined]


class FrozenDict(dict):
    """A dict a template cannot change (it can be shared between renders).

    During a sandboxed render, looking up a key it does not have fails the
    render (:class:`UnknownVariable`, e.g. ``space.environment``) rather than
    giving an empty string: the template is wrong, or probing.
    """

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __init__(self, values: Mapping[str, Any] | None = None, path: str = "") -> None:
        super().__init__(values or {})
        self._path = path

    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            # ``offer.items`` is looked up as an attribute next: not unknown.
            if not (isinstance(key, str) and hasattr(dict, key)):
                _unknown(f"{self._path}.{key}" if self._path else str(key))
            raise

    def __reduce__(self):
        return (FrozenDict, (dict(self), self._path))


def plain(value: Any, path: str = "") -> Any:
    """``value`` as template data: ``None``, bools, numbers, strings, dates,
    tuples and :class:`FrozenDict`; anything else raises ``TypeError``.

    Strings marked safe (sanitised HTML) stay marked; decimals become floats,
    UUIDs strings, aware datetimes UTC. ``path`` names ``value`` in errors.
    """
    if value is None or isinstance(value, bool | FrozenDict):
        return value  # a FrozenDict is made by this function only
    if isinstance(value, str):
        return value if isinstance(value, SafeString) else str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            return value.astimezone(datetime.UTC)
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return FrozenDict(
            {
                str(key): plain(item, f"{path}.{key}" if path else str(key))
                for key, item in value.items()
            },
            path,
        )
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(plain(item, path) for item in value)
    raise TypeError(f"Not plain template data: {type(value).__name__}")


# The budget of one render ----------------------------------------------------


class Budget:
    """What one render may still do; every check raises past a bound.

    A bound reached inside an ``{% if %}`` condition (which swallows errors) is
    remembered and raised when the render ends.
    """

    def __init__(self) -> None:
        self.iterations = 0
        self.output = 0
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS
        self.exceeded: SandboxError | None = None

    def fail(self, message: str, error=SandboxLimitExceeded):
        self.exceeded = self.exceeded or error(message)
        raise self.exceeded

    def check_time(self) -> None:
        if self.exceeded is not None:
            raise self.exceeded
        if time.monotonic() > self.deadline:
            self.fail(f"the render took more than {MAX_RENDER_SECONDS} s")

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            self.fail(f"more than {MAX_LOOP_ITERATIONS:,} loop iterations")
        self.check_time()

    def emit(self, text: str) -> None:
        self.output += len(text)
        if self.output > MAX_OUTPUT:
            self.fail(f"more than {MAX_OUTPUT:,} characters of output")
        self.check_time()

    def value(self, result: Any) -> None:
        try:
            size = len(result)
        except TypeError:
            size = 0
        if size > MAX_VALUE_LENGTH:
            self.fail(f"a value of more than {MAX_VALUE_LENGTH:,} characters")
        self.check_time()


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "interaction_sandbox_budget", default=None
)


def _unknown(name: str) -> None:
    """Fail the current render on an unknown variable (outside one: nothing)."""
    budget = _budget.get()
    if budget is not None:
        budget.fail(f"unknown variable “{name}”", UnknownVariable)


class SandboxContext(Context):
    """A context where an unknown variable fails the render."""

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            _unknown(str(key))
            raise


def _current_budget() -> Budget:
    budget = _budget.get()
    if budget is None:  # a node or filter used outside SandboxTemplate.render
        raise SandboxLimitExceeded("sandboxed templates render only in the sandbox")
    return budget


# Tags --------------------------------------------------------------------------

register = Library()

for _name in ALLOWED_TAGS:
    if _name != "for":
        register.tag(_name, defaulttags.register.tags[_name])


class BoundedForNode(ForNode):
    """``{% for %}`` that counts its iterations in the render's budget.

    Django's ``ForNode.render`` (5.2), with a budget check per iteration.
    """

    def render(self, context):
        budget = _current_budget()
        # Django's stubs type these loosely (str items); they are nodes here.
        sequence: Any = self.sequence
        nodelist_loop: Any = self.nodelist_loop
        nodelist_empty: Any = self.nodelist_empty
        parentloop = context["forloop"] if "forloop" in context else {}
        with context.push():
            values = sequence.resolve(context, ignore_failures=True)
            if values is None:
                values = []
            if not hasattr(values, "__len__"):
                values = list(values)
            len_values = len(values)
            if len_values < 1:
                return nodelist_empty.render(context)
            nodelist: list[str] = []
            if self.is_reversed:
                values = reversed(values)
            num_loopvars = len(self.loopvars)
            unpack = num_loopvars > 1
            loop_dict = context["forloop"] = {"parentloop": parentloop}
            for i, item in enumerate(values):
                budget.iterate()
                loop_dict["counter0"] = i
                loop_dict["counter"] = i + 1
                loop_dict["revcounter"] = len_values - i
                loop_dict["revcounter0"] = len_values - i - 1
                loop_dict["first"] = i == 0
                loop_dict["last"] = i == len_values - 1
                pop_context = False
                if unpack:
                    try:
                        len_item = len(item)
                    except TypeError:
                        len_item = 1
                    if num_loopvars != len_item:
                        raise ValueError(
                            f"Need {num_loopvars} values to unpack in for loop; "
                            f"got {len_item}."
                        )
                    pop_context = True
                    context.update(dict(zip(self.loopvars, item, strict=True)))
                else:
                    context[self.loopvars[0]] = item
                for node in nodelist_loop:
                    nodelist.append(node.render_annotated(context))
                if pop_context:
                    context.pop()
        return mark_safe("".join(nodelist))


@register.tag("for")
def do_for(parser, token):
    node = defaulttags.do_for(parser, token)
    return BoundedForNode(
        node.loopvars,
        node.sequence,
        node.is_reversed,
        node.nodelist_loop,
        node.nodelist_empty,
    )


#: Tags whose output is only their children's (already metered) output.
_CONTAINERS = (
    AutoEscapeControlNode,
    CommentNode,
    ForNode,
    IfChangedNode,
    IfNode,
    SpacelessNode,
    WithNode,
)


class MeteredNode(Node):
    """Charges the output of the node it wraps to the render's budget."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.nodelist = NodeList([node])

    def render(self, context):
        output = str(self.node.render_annotated(context))
        _current_budget().emit(output)
        return output


# Filters -------------------------------------------------------------------------


def _guarded(func):
    """``func`` with its result bounded and the render's deadline checked."""

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        budget = _current_budget()
        budget.check_time()
        result = func(*args, **kwargs)
        budget.value(result)
        return result

    return guarded


def _bounded_int(arg, limit: int, what: str) -> None:
    try:
        number = int(arg)
    except (TypeError, ValueError):
        return  # the filter itself handles (or refuses) a non-number
    if abs(number) > limit:
        _current_budget().fail(f"{what} {number} is larger than {limit}")


def _width_bounded(func):
    @functools.wraps(func)
    def bounded(value, arg):
        _bounded_int(arg, MAX_WIDTH, "width")
        return func(value, arg)

    return bounded


@functools.wraps(defaultfilters.floatformat)
def _floatformat(text, arg=-1):
    _bounded_int(re.sub(r"[gu]", "", str(arg)), MAX_DECIMALS, "decimal places")
    return defaultfilters.floatformat(text, arg)


@functools.wraps(defaultfilters.stringformat)
def _stringformat(value, arg):
    for number in re.findall(r"\d+", str(arg)):
        _bounded_int(number, MAX_WIDTH, "width")
    return defaultfilters.stringformat(value, arg)


@functools.wraps(defaultfilters.join)
def _join(value, arg, autoescape=True):
    try:
        separators = (len(value) - 1) * len(str(arg))
    except TypeError:
        separators = 0
    if separators > MAX_VALUE_LENGTH:
        _current_budget().fail(f"a value of more than {MAX_VALUE_LENGTH:,} characters")
    return defaultfilters.join(value, arg, autoescape=autoescape)


_BOUNDED_FILTERS = {
    "center": _width_bounded(defaultfilters.center),
    "ljust": _width_bounded(defaultfilters.ljust),
    "rjust": _width_bounded(defaultfilters.rjust),
    "floatformat": _floatformat,
    "stringformat": _stringformat,
    "join": _join,
}

for _name in ALLOWED_FILTERS:
    register.filter(
        _name,
        _guarded(_BOUNDED_FILTERS.get(_name) or defaultfilters.register.filters[_name]),
    )


# Engine ------------------------------------------------------------------------


class SandboxParser(Parser):
    """Meters every node's output, names refused tags and filters."""

    def extend_nodelist(self, nodelist, node, token):
        if not isinstance(node, _CONTAINERS):
            node.token, node.origin = token, self.origin
            node = MeteredNode(node)
        super().extend_nodelist(nodelist, node, token)

    def invalid_block_tag(self, token, command, parse_until=None):
        if command in FORBIDDEN_TAGS:
            raise self.error(
                token,
                f"“{{% {token.contents} %}}” (line {token.lineno}): the tag "
                f"“{command}” is not allowed: {FORBIDDEN_TAGS[command]}.",
            )
        if command not in _INNER_TAGS:
            raise self.error(
                token,
                f"“{{% {token.contents} %}}” (line {token.lineno}): unknown tag "
                f"“{command}”. Allowed tags: {', '.join(ALLOWED_TAGS)}.",
            )
        return super().invalid_block_tag(token, command, parse_until)

    def find_filter(self, filter_name):
        if filter_name in FORBIDDEN_FILTERS:
            raise TemplateSyntaxError(
                f"The filter “{filter_name}” is not allowed: "
                f"{FORBIDDEN_FILTERS[filter_name]}."
            )
        if filter_name not in self.filters:
            raise TemplateSyntaxError(f"Unknown filter “{filter_name}”.")
        return super().find_filter(filter_name)


class SandboxTemplate(Template):
    """A template parsed by :class:`SandboxParser`, rendered within a budget."""

    def compile_nodelist(self):
        parser = SandboxParser(
            Lexer(self.source).tokenize(),
            self.engine.template_libraries,
            self.engine.template_builtins,
            self.origin,
        )
        nodelist = parser.parse()
        self.extra_data = parser.extra_data  # type: ignore[attr-defined]
        return nodelist

    def render(self, context):
        budget = Budget()
        token = _budget.set(budget)
        try:
            output = super().render(context)
        finally:
            _budget.reset(token)
        if budget.exceeded is not None:  # swallowed by an {% if %} condition
            raise budget.exceeded
        return output


class SandboxEngine(Engine):
    """No loaders, no default builtins: only this module's tags and filters."""

    default_builtins: list[str] = []

    def __init__(self) -> None:
        super().__init__(
            dirs=[],
            app_dirs=False,
            loaders=[],
            libraries={},
            builtins=[],
            debug=False,
            autoescape=True,
            string_if_invalid="",
        )
        self.template_builtins = [register]

    def from_string(self, template_code: str) -> SandboxTemplate:
        if len(template_code) > MAX_TEMPLATE_LENGTH:
            raise TemplateSyntaxError(
                f"The template is {len(template_code):,} characters long; "
                f"at most {MAX_TEMPLATE_LENGTH:,}."
            )
        return SandboxTemplate(template_code, engine=self)

    def find_template(self, name, dirs=None, skip=None):
        raise TemplateDoesNotExist(name)


@functools.cache
def engine() -> SandboxEngine:
    return SandboxEngine()


@functools.lru_cache(maxsize=256)
def compile_template(source: str) -> SandboxTemplate:
    """``source`` parsed once (spaces render on every call); raises
    ``TemplateSyntaxError`` for a refused or invalid template."""
    return engine().from_string(source)


def render(
    template: SandboxTemplate, data: Mapping[str, Any], *, autoescape: bool
) -> str:
    """``template`` rendered over ``data`` (made :func:`plain`).

    Raises :class:`SandboxError` (a bound, an unknown variable) or whatever a
    broken template raises.
    """
    context = SandboxContext(
        {name: plain(value, name) for name, value in data.items()},
        autoescape=autoescape,
        # Numbers as written, whatever the site's locale: renderings carry
        # ids and ranks in attributes scripts read (1234567, never "1,234,567").
        use_l10n=False,
    )
    return template.render(context)
