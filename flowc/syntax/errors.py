"""Turns Lark's parse errors into one E001 diagnostic that says what was found and expected.

Messages come from `SYNTAX_ERRORS`, a table of (message, help, bad examples) in the manner of
Lark's own load_grammar.py: each example is parsed once, and an error takes the message of the
example that failed in the same parser state. Errors the table does not know get a message
built from the terminals the parser would have accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from flowc.diagnostics import FlowError
from flowc.source import SourceFile
from flowc.syntax.grammar import (
    STATEMENT_KEYWORDS,
    ScanState,
    flow_parser,
    scanning,
    starts_line,
    syntax_error,
    unclosed_error,
)


@dataclass(frozen=True)
class SyntaxErrorExample:
    """One row of the table: a message, an optional help line, and texts that cause it."""

    message: str
    help: str | None
    examples: tuple[str, ...]


_VALUE_HELP = (
    "a value is a number, a string, `true`, `false`, a list `[...]`, a mapping `{key: value}` "
    "or a const name"
)
_CALLABLE_HELP = (
    'write `package.module:function`, `package.module.function`, `"file.py":function` '
    "or a bare name given to compile_source(functions=...)"
)

SYNTAX_ERRORS: tuple[SyntaxErrorExample, ...] = (
    SyntaxErrorExample(
        "expected a statement: `pipeline`, `const`, `type`, `buffer` or a worker kind "
        "(`importer`, `processor`, `filter`, `exporter`, `observer`)",
        None,
        ("foo x = 1", "= 3", "42\n", "-> x"),
    ),
    SyntaxErrorExample(
        "expected the pipeline's name after `pipeline`", None, ("pipeline 3", "pipeline\n")
    ),
    SyntaxErrorExample(
        "expected the end of the line after the pipeline's name",
        "a statement ends at the end of its line",
        ("pipeline a b", "pipeline a = 3"),
    ),
    SyntaxErrorExample("expected a name after `const`", None, ("const = 3", "const\n")),
    SyntaxErrorExample(
        "expected `=` after the const's name", "write `const NAME = value`", ("const N 3",)
    ),
    SyntaxErrorExample(
        "expected a value after `=`",
        _VALUE_HELP,
        (
            "const N =\n",
            "const N = ]",
            "buffer b : f4 slots=\n",
            "importer a = f(n=) -> x",
            "importer a = f() -> x processes=",
        ),
    ),
    SyntaxErrorExample(
        "expected the end of the line after the const's value",
        "a statement ends at the end of its line",
        ("const N = 3 4", "const N = 3 x"),
    ),
    SyntaxErrorExample("expected a name after `type`", None, ("type = {a: f4}", "type\n")),
    SyntaxErrorExample(
        "expected `=` after the type's name",
        "write `type NAME = {field: f4, ...}`",
        ("type T {a: f4}",),
    ),
    SyntaxErrorExample(
        "expected `{` after `=`: a type declaration lists its fields",
        "write `type NAME = {field: f4, ...}`; a plain dtype needs no type declaration",
        ("type T = f4", "type T = 3"),
    ),
    SyntaxErrorExample(
        "expected a field name (a name or a quoted string) or `}`",
        None,
        ("type T = {3: f4}", "type T = {a: f4, : f4}"),
    ),
    SyntaxErrorExample(
        "expected `:` after the field's name",
        "write `name: dtype`, e.g. `height: f8`",
        ("type T = {a f4}",),
    ),
    SyntaxErrorExample(
        "expected a dtype code after `:`",
        "a field's type is a dtype code such as `f4`, `i8` or `float64`, with an optional shape `f4[16]`",
        ("type T = {a: }", "type T = {a: 3}"),
    ),
    SyntaxErrorExample(
        "expected `,` or `}` after a field",
        None,
        ("type T = {a: f4 b: f4}", "type T = {a: f4 = 1}"),
    ),
    SyntaxErrorExample(
        "expected a dimension of the field's shape (a number or a const name)",
        None,
        ("type T = {a: f4[]}", "type T = {a: f4[2, ]]}"),
    ),
    SyntaxErrorExample(
        "expected a buffer name after `buffer`", None, ("buffer : f4 slots=2", "buffer 3")
    ),
    SyntaxErrorExample(
        "expected `:` after the buffer's name",
        "write `buffer NAME : TYPE[LENGTH] slots=N`",
        ("buffer b f4", "buffer b = f4"),
    ),
    SyntaxErrorExample(
        "expected the buffer's type after `:`: a type name, a dtype code or `{...}`",
        None,
        ("buffer b : 3", "buffer b :\n", "buffer b : [3]"),
    ),
    SyntaxErrorExample(
        "expected `]` after the buffer's length: a buffer's length is one value",
        "a plain array buffer is `buffer NAME : f4[LENGTH]`; a sub-array shape belongs to a field "
        "of a type: `{wave: f4[4, 4]}`",
        ("buffer b : f4[4, 4]", "buffer b : f4[4 4]"),
    ),
    SyntaxErrorExample(
        "expected the buffer's length in `[...]`", None, ("buffer b : f4[]", "buffer b : f4[=]")
    ),
    SyntaxErrorExample(
        "expected `key=value` options or the end of the line after the buffer's type",
        "buffer options are `slots=N` and `overflow=block|drop`",
        ("buffer b : f4 slots", "buffer b : f4 3", "buffer b : f4[2] 3"),
    ),
    SyntaxErrorExample(
        "expected the worker's name after its kind", None, ("importer = f() -> x", "filter 3")
    ),
    SyntaxErrorExample(
        "expected `=` after the worker's name",
        "write `KIND NAME = CALLABLE(key=value, ...) INPUTS -> OUTPUTS`",
        ("importer a f() -> x", "processor p : f() a -> b"),
    ),
    SyntaxErrorExample(
        "expected the worker's callable after `=`",
        _CALLABLE_HELP,
        ("importer a = () -> x", "importer a = 3() -> x", "importer a =\n"),
    ),
    SyntaxErrorExample(
        "expected `(` after the callable: the parentheses are required, even when empty",
        "write `CALLABLE()` when the worker takes no arguments",
        ("importer a = f -> x", "importer a = pkg.mod:fn\n", "importer a = pkg.fn x"),
    ),
    SyntaxErrorExample(
        "expected a name after `.` in the callable", _CALLABLE_HELP, ("importer a = pkg.() -> x",)
    ),
    SyntaxErrorExample(
        "expected a function name after `:` in the callable",
        _CALLABLE_HELP,
        ("importer a = pkg: () -> x", 'importer a = "f.py":() -> x'),
    ),
    SyntaxErrorExample(
        "expected `:` and a function name after the file name",
        'write `"peaks.py":find_pulses`',
        ('importer a = "f.py"() -> x', 'importer a = "f.py".g() -> x'),
    ),
    SyntaxErrorExample(
        "expected `key=value`: worker arguments are passed by keyword",
        "positional arguments are not allowed; write `name=value`",
        (
            "processor p = f(3) a -> b",
            "processor p = f(x) a -> b",
            "processor p = f(a=1, 3) x -> y",
            'processor p = f("x") a -> b',
        ),
    ),
    SyntaxErrorExample(
        "expected `,` or `)` after an argument",
        None,
        ("processor p = f(a=1 b=2) x -> y", "processor p = f(a=1 2) x -> y"),
    ),
    SyntaxErrorExample(
        "expected a buffer name after `->`",
        None,
        ("processor p = f() x -> \n", "processor p = f() x -> 3", "importer i = f() -> -> x"),
    ),
    SyntaxErrorExample(
        "expected a buffer name after `,`",
        None,
        (
            "processor p = f() x, -> y",
            "processor p = f() x -> y, \n",
            "observer o = f() observes a,\n",
        ),
    ),
    SyntaxErrorExample(
        "expected a buffer name after `observes`",
        None,
        ("observer o = f() observes\n", "observer o = f() observes 3"),
    ),
    SyntaxErrorExample(
        "expected `,`, `->`, `observes`, `key=value` options or the end of the line after the "
        "worker's inputs",
        None,
        ("processor p = f() a b", "processor p = f() a 3"),
    ),
    SyntaxErrorExample(
        "expected `,`, `observes`, `key=value` options or the end of the line after the worker's "
        "outputs",
        None,
        (
            "processor p = f() a -> b c",
            "processor p = f() a -> b 3",
            "processor p = f() a -> b -> c",
        ),
    ),
    SyntaxErrorExample(
        "expected `,`, `key=value` options or the end of the line after the observed buffers",
        None,
        ("observer o = f() observes a b", "observer o = f() observes a 3"),
    ),
    SyntaxErrorExample(
        "expected another `key=value` option or the end of the line",
        "buffer options are `slots=N` and `overflow=block|drop`; worker options are "
        "`processes=N` and `on_error=fail|skip`",
        (
            "processor p = f() a -> b processes=2 3",
            "buffer b : f4 slots=2 3",
            "importer i = f() -> a processes=1 on_error",
        ),
    ),
    SyntaxErrorExample(
        "expected `,` or `]` after a value in `[...]`",
        None,
        ("const L = [1 2]", "const L = [1, 2 3]", "type T = {a: f4[2 3]}"),
    ),
    SyntaxErrorExample(
        "expected a value or `]` in a list", _VALUE_HELP, ("const L = [,]", "const L = [1, , 2]")
    ),
    SyntaxErrorExample(
        "expected a key (a name or a quoted string) or `}` in a mapping",
        'write `{key: value, "other key": value}`',
        ("const M = {3: 1}", "const M = {a: 1, , b: 2}", "const M = {[1]: 2}"),
    ),
    SyntaxErrorExample(
        "expected `:` after the mapping's key",
        "write `key: value`, e.g. `{height: [0, 1, 50]}`",
        ("const M = {a 1}", "const M = {a = 1}", 'const M = {"a" 1}'),
    ),
    SyntaxErrorExample(
        "expected a value after the key's `:`",
        _VALUE_HELP,
        ("const M = {a: }", "const M = {a: ,}", "const M = {a: :}"),
    ),
    SyntaxErrorExample(
        "expected `,` or `}` after a value in a mapping",
        None,
        ("const M = {a: 1 b: 2}", "const M = {a: 1 2}", "const M = {a: 1 = 2}"),
    ),
)

_TERMINAL_WORDS = {
    "NAME": "a name",
    "KEY": "`key=value`",
    "NUMBER": "a number",
    "STRING": "a string",
    "_NL": "the end of the line",
    "$END": "the end of the input",
}


def convert_lark_error(
    exc: UnexpectedCharacters | UnexpectedToken, source: SourceFile, scan: ScanState, start: str
) -> FlowError:
    """The FlowError (one E001) for a Lark parse error in `source`, parsed from rule `start`."""
    text = source.text
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_character(source, exc.pos_in_stream)
    token = exc.token
    if (
        scan.open_brackets
        and token.type not in ("$END", "_NL")
        and token.value in STATEMENT_KEYWORDS
        and starts_line(text, token.start_pos)
    ):
        return unclosed_error(source, scan.open_brackets[-1], token)
    found = describe_found(token, len(text))
    start_pos, end_pos = _token_range(token, len(text))
    row = _match_table(exc) if start == "module" else None
    if row is not None:
        return syntax_error(
            source, start_pos, end_pos, f"{row.message}, found {found}", help=row.help
        )
    expected = describe_expected(exc.accepts or exc.expected, whole_module=start == "module")
    return syntax_error(source, start_pos, end_pos, f"expected {expected}, found {found}")


def describe_found(token: Token, text_length: int) -> str:
    kind = token.type
    if kind == "$END" or (kind == "_NL" and token.start_pos >= text_length):
        return "the end of the input"
    if kind == "_NL":
        return "the end of the line"
    shown = token.value if len(token.value) <= 40 else token.value[:37] + "..."
    if kind in ("NAME", "KEY"):
        return f"name `{shown}`"
    if kind == "NUMBER":
        return f"number `{shown}`"
    if kind == "STRING":
        return f"string `{shown}`"
    if token.value in STATEMENT_KEYWORDS or token.value in ("observes", "true", "false"):
        return f"keyword `{shown}`"
    return f"`{shown}`"


def describe_expected(terminal_names, *, whole_module: bool = True) -> str:
    """The terminals a parser state accepts, in words (`a name, `=` or the end of the line`)."""
    parser = flow_parser()
    names = set(terminal_names)
    if "_NL" in names:
        names.discard("$END")
        if not whole_module:
            # a lone value or type: blank lines may surround it, but saying so helps nobody
            names.discard("_NL")
            if not names:
                return "the end of the text"
    words = []
    for name in sorted(names):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
            continue
        pattern = parser.get_terminal(name).pattern
        if pattern.type == "str":
            words.append(f"`{pattern.value}`")
    words = sorted(set(words), key=lambda w: (w.startswith("the end"), w))
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _token_range(token: Token, text_length: int) -> tuple[int, int]:
    if token.type == "$END":
        return text_length, text_length
    if token.type == "_NL":
        return token.start_pos, token.start_pos
    return token.start_pos, token.end_pos


def _unexpected_character(source: SourceFile, pos: int) -> FlowError:
    text = source.text
    char = text[pos]
    if char == '"':
        line_end = text.find("\n", pos)
        end = len(text) if line_end < 0 else line_end
        return syntax_error(
            source,
            pos,
            end,
            'unterminated string: it has no closing `"` on this line',
            help='close the string with `"`; write a quote inside a string as \\" and a '
            "line break as \\n",
        )
    if char == "\\":
        return syntax_error(source, pos, pos + 1, "unexpected `\\` outside a string")
    shown = f"`{char}`" if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
    return syntax_error(
        source,
        pos,
        pos + 1,
        f"unexpected character {shown}",
        help="flow text is made of names, numbers, strings, brackets, `=`, `:`, `,`, `.`, `->` "
        "and `#` comments",
    )


def error_key(exc: UnexpectedToken) -> tuple[int, frozenset[str]]:
    """What identifies an error for the table: the parser's state and the terminals it accepts.

    (Lark's own `match_examples` compares whole parser stacks, so an example would match only
    at the same bracket depth, and in lark 1.3 it fails with a TypeError when two errors share
    a state but not their accepted terminals; hence this key.)
    """
    return exc.state.position, frozenset(exc.accepts or exc.expected)


def example_error(text: str) -> UnexpectedToken | None:
    """The parse error a table example causes (None if it parses or fails another way)."""
    with scanning(SourceFile("<example>", text)):
        try:
            flow_parser().parse(text, start="module")
        except UnexpectedToken as exc:
            return exc
        except (FlowError, UnexpectedInput):
            return None
    return None


@cache
def _table_by_key() -> dict[tuple[int, frozenset[str]], SyntaxErrorExample]:
    table: dict[tuple[int, frozenset[str]], SyntaxErrorExample] = {}
    for row in SYNTAX_ERRORS:
        for example in row.examples:
            exc = example_error(example)
            if exc is not None:
                table.setdefault(error_key(exc), row)
    return table


def _match_table(exc: UnexpectedToken) -> SyntaxErrorExample | None:
    return _table_by_key().get(error_key(exc))
