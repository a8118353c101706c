"""Checking and compiling user-authored templates in Jinja2's sandbox.

A template is text with hashtags (`#client_name`) and, optionally, Jinja2 syntax
(`{% if items_count_selected > 1 %}`). Hashtags become variables; only catalogue names may be used.
What a template may do is an allow-list: read hashtags, branch, loop, and apply a few plain filters.
Everything else (attribute tricks like `''.__class__`, the `attr` filter, calling anything,
including other templates, exponentiation) is refused when the template is saved, and the sandbox
(no globals, the same filters only, size-capped `*`) refuses it again at render time.
"""

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateAssertionError, TemplateSyntaxError, meta, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import escape

from shared.templating.hashtags import hashtag_names

HASHTAG = re.compile(r"(?<![\w#&])#([a-z][a-z0-9_]*)")
ESCAPED_HASH = "##"

# Plain filters on strings and numbers; none of them looks up attributes or calls anything.
ALLOWED_FILTERS = frozenset({
    "abs", "capitalize", "center", "count", "d", "default", "e", "escape", "first", "float", "int", "join",
    "last", "length", "list", "lower", "replace", "reverse", "round", "string", "striptags", "sum", "title",
    "trim", "truncate", "upper", "wordcount", "wordwrap",
})
ALLOWED_TESTS = frozenset({
    "!=", "<", "<=", "==", ">", ">=", "defined", "divisibleby", "eq", "even", "ge", "gt", "in", "le", "lt",
    "ne", "none", "number", "odd", "string", "undefined",
})
FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Include: "including another template",
    nodes.Import: "importing another template",
    nodes.FromImport: "importing another template",
    nodes.Extends: "extending another template",
    nodes.Pow: "the ** operator",
    nodes.Macro: "defining macros",
    nodes.CallBlock: "call blocks",
}
RESERVED_NAMES = frozenset({"self", "caller", "varargs", "kwargs"})  # Jinja2 internals, never hashtags
MAX_PRODUCT_LENGTH = 10_000  # `'x' * n` beyond this is an attack on memory, not a template


@dataclass(frozen=True)
class TemplateProblem:
    field: str
    message: str


class TemplateRejected(ValueError):
    """A template cannot be saved; the message lists every problem found."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with no globals, allow-listed filters and tests, and a capped `*`."""

    intercepted_binops = frozenset({"*"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(count, int):
                    if len(sized) * count > MAX_PRODUCT_LENGTH:
                        raise SecurityError("the result of * is too large for a template")
        return super().call_binop(context, operator, left, right)


def sandbox(*, autoescape: bool) -> ImmutableSandboxedEnvironment:
    """The environment every user template runs in: no Python objects, undefined names fail."""
    environment = _Sandbox(autoescape=autoescape, undefined=StrictUndefined)
    environment.globals.clear()
    environment.filters = {name: f for name, f in environment.filters.items() if name in ALLOWED_FILTERS}
    environment.tests = {name: t for name, t in environment.tests.items() if name in ALLOWED_TESTS}
    return environment


def to_jinja(text: str) -> str:
    """`#client_name` → `{{ client_name }}`; `##` is a literal `#`."""
    placeholder = "\x00"
    text = text.replace(ESCAPED_HASH, placeholder)
    text = HASHTAG.sub(lambda match: "{{ " + match.group(1) + " }}", text)
    return text.replace(placeholder, "#")


def check_template(text: str, *, field: str, allow_internal: bool = True) -> list[TemplateProblem]:
    """Every reason this text cannot be a template (an empty list: it can)."""
    known = hashtag_names()
    problems = [
        TemplateProblem(field, f"unknown hashtag #{name}")
        for name in sorted({match.group(1) for match in HASHTAG.finditer(text.replace(ESCAPED_HASH, ""))})
        if name not in known
    ]
    if problems:
        return problems
    try:
        tree = sandbox(autoescape=True).parse(to_jinja(text))
    except TemplateSyntaxError as exc:
        return [TemplateProblem(field, f"template syntax error on line {exc.lineno}: {exc.message}")]
    problems.extend(_forbidden_constructs(tree, field))
    try:
        undeclared = meta.find_undeclared_variables(tree)
    except TemplateAssertionError:  # an unknown filter or test, already reported above
        return problems
    for name in sorted(undeclared - known):
        problems.append(TemplateProblem(field, f"unknown name {name!r}: use one of the documented hashtags"))
    if not allow_internal and "link_url" in undeclared:
        problems.append(TemplateProblem(field, "#link_url is only for internal interactive emails"))
    return problems


def _forbidden_constructs(tree: nodes.Template, field: str) -> list[TemplateProblem]:
    problems: list[TemplateProblem] = []

    def refuse(message: str) -> None:
        problem = TemplateProblem(field, message)
        if problem not in problems:
            problems.append(problem)

    for node in tree.find_all(nodes.Node):
        if type(node) in FORBIDDEN_NODES:
            refuse(f"{FORBIDDEN_NODES[type(node)]} is not allowed in a template")
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            attribute = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(attribute, str) and attribute.startswith("_"):
                refuse(f"access to {attribute!r} is not allowed in a template")
        elif isinstance(node, nodes.Name) and node.name in RESERVED_NAMES:
            refuse(f"unknown name {node.name!r}: use one of the documented hashtags")
        elif isinstance(node, nodes.Call):
            refuse(f"calling {_callee(node)} is not allowed in a template")
        elif isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            refuse(f"the filter {node.name!r} is not allowed in a template")
        elif isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            refuse(f"the test {node.name!r} is not allowed in a template")
    return problems


def _callee(call: nodes.Call) -> str:
    if isinstance(call.node, nodes.Getattr):
        return repr(call.node.attr)
    if isinstance(call.node, nodes.Name):
        return repr(call.node.name)
    return "an expression"


def compile_template(text: str, *, field: str, autoescape: bool, allow_internal: bool = True) -> Template:
    """Check then compile; raises TemplateRejected with every problem."""
    problems = check_template(text, field=field, allow_internal=allow_internal)
    if problems:
        raise TemplateRejected(problems)
    return sandbox(autoescape=autoescape).from_string(to_jinja(text))


def compile_text_as_html(text: str, *, field: str, allow_internal: bool = True) -> Template:
    """Compile a plain-text template for an HTML part: its literal text is escaped as well as the
    hashtag values, so `<` written by an admin shows as `<`, and only hashtags like
    `#items_list_selected` produce markup."""
    problems = check_template(text, field=field, allow_internal=allow_internal)
    if problems:
        raise TemplateRejected(problems)
    environment = sandbox(autoescape=True)
    tree = environment.parse(to_jinja(text))
    for data in tree.find_all(nodes.TemplateData):
        data.data = str(escape(data.data))
    return environment.from_string(tree)
