"""Spec text -> the same spec in canonical layout, every comment kept (`rnndsl fmt`).

A token-level formatter: the text must parse (else the parser's SpecError is raised and
nothing is formatted); it is then cut into physical lines of tokens (the token stream of
syntax/tokens.py, made from the grammar's terminals), each line's tokens are
re-spaced, and the lines are re-indented and aligned.  Where the user broke a statement
over lines, it stays broken there, so the statement boundaries the parser sees (its
post-lexer joins a newline inside brackets, after `| + - * / , =` or before `| + * /`)
never move.  The result is parsed again and must give the same AST (spans aside): a
formatter bug is an AssertionError, never a silently different spec.

The canonical layout:

* one statement per line, at column 0; a statement continued over several lines keeps its
  line breaks, each continuation line indented 4 spaces (0 when it starts with a closing
  bracket, such as the `}` of a multi-line train block);
* one space around `+ - * / | %`, comparisons and a statement's `=`; none around a keyword
  argument's `=` (`init=normal(0.1)`), `..`, inside `[...]` (`h[t-1]`) or after a unary
  minus; `, ` and `: ` after commas and colons; no space inside `(...)` and `{1, 3}`;
  `train { key value  key value }` with two spaces between settings, as `unparse` writes it;
* the guards (`when ...`, `otherwise`) of consecutive one-line guarded stream equations
  start in the same column (one space after the longest equation);
* an end-of-line comment two spaces after the code; those of consecutive lines start in
  the same column.  Own-line comments stay on their own line (indented 4 inside a
  continued statement, else 0), their text kept byte for byte except trailing whitespace;
* runs of blank lines become one; blank lines at the start and end go; a line holding only
  a backslash continuation goes; `\\r\\n` becomes `\\n`; the text ends with one newline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..errors import Diagnostic, Span, SpecError
from ..limits import MAX_SPEC_BYTES
from .parser import parse
from .tokens import CLOSE, Statements, tokens

__all__ = ["format_text", "comments", "INDENT", "COMMENT_GAP", "GUARD_GAP"]

INDENT = 4        # a continuation line's indent
COMMENT_GAP = 2   # spaces between code and an end-of-line comment (at least)
GUARD_GAP = 1     # spaces between an equation and its guard (at least)

_DECLARATIONS = frozenset({"model", "about", "data", "steps", "defaults", "input", "target", "param", "train"})
_PREFIX_WORDS = frozenset({"when", "otherwise", "and", "or", "not", "in"})  # an operand may follow them
_GUARD_WORDS = frozenset({"when", "otherwise"})
_TRAILING_SPACE = " \t\r\f\v"


class _Role(Enum):
    """What a token does where it stands, as far as spacing cares."""

    NONE = "none"
    ASSIGN = "assign"  # a statement's `=` (not a keyword argument's)
    UNARY = "unary"    # a unary minus
    TRAIN = "train"    # the `{` or `}` of a train block (not of `t in {...}`)
    KEY = "key"        # a train setting's name, after the first
    GUARD = "guard"    # the `when` or `otherwise` that starts a stream equation's guard


class _Kind(Enum):
    """A line of output."""

    CODE = "code"
    COMMENT = "comment"
    BLANK = "blank"


@dataclass
class _Tok:
    kind: str          # the token's type (syntax/tokens.py): NAME, NUMBER, STRING, MODE or OP
    text: str
    terminal: str      # the grammar's terminal
    role: _Role = _Role.NONE
    continues: bool = False  # it continues the statement of the token before it (the post-lexer's rule)


@dataclass
class _Line:
    """One physical line: its tokens, its comment, and whether it ends with a backslash continuation."""

    toks: list[_Tok] = field(default_factory=list)
    comment: str | None = None
    backslash: bool = False


@dataclass
class _Out:
    """One line of output."""

    kind: _Kind
    indent: int = 0
    code: str = ""            # the code (or the own-line comment), without the indent
    comment: str | None = None
    guard_at: int | None = None  # where the guard starts in `code`, on a statement's first line


def _lines(text: str) -> list[_Line]:
    """The physical lines of `text`, each with its tokens (whitespace dropped) and its comment."""
    lines = [_Line()]
    split = Statements()
    for tok in tokens(text):
        if tok.type == "ERROR":  # the text parsed, so this cannot be: the two readers disagree
            raise AssertionError(f"fmt cannot read {tok.text!r} at offset {tok.offset}")
        starts = split.starts(tok)
        if tok.type in ("NL", "CONT"):
            lines[-1].backslash = tok.type == "CONT"
            lines.append(_Line())
        elif tok.type == "COMMENT":
            lines[-1].comment = tok.text.rstrip(_TRAILING_SPACE)
        elif tok.type != "WS":
            lines[-1].toks.append(_Tok(tok.type, tok.text, tok.terminal, continues=not starts))
    if not lines[-1].toks and lines[-1].comment is None:
        lines.pop()  # the text ended with a newline (or was empty)
    return lines


def comments(text: str) -> list[str]:
    """Every comment of `text` (which must lex), in order, without trailing whitespace."""
    return [line.comment for line in _lines(text) if line.comment is not None]


class _Statement:
    """The spacing context of one statement as its tokens go by."""

    def __init__(self, first: _Tok) -> None:
        word = first.text if first.kind == "NAME" else ""
        self.train = word == "train"
        self.assigns = word not in _DECLARATIONS  # a value, stream, layer or init: `NAME ... = ...`
        self.stack: list[str] = []   # open brackets: ( [ {t (train block) {s (a set of steps)
        self.assigned = False
        self.guarded = False
        self.prev: _Tok | None = None
        self.expect_key = True       # in a train block: the next word is a setting's name
        self.first_key = True

    def role(self, tok: _Tok) -> None:
        """Give `tok` its role and update the context."""
        text, top = tok.text, (self.stack[-1] if self.stack else "")
        in_train = top == "{t" and len(self.stack) == 1
        if tok.kind == "OP":
            if text == "=" and self.assigns and not self.stack and not self.assigned:
                tok.role, self.assigned = _Role.ASSIGN, True
            elif text == "-" and top != "[" and (top == "{t" or self._before_operand()):
                tok.role = _Role.UNARY
            elif text == "{":
                tok.role = _Role.TRAIN if self.train and not self.stack else _Role.NONE
                self.stack.append("{t" if tok.role is _Role.TRAIN else "{s")
            elif text in ("(", "["):
                self.stack.append(text)
            elif tok.terminal in CLOSE:
                if top == "{t":
                    tok.role = _Role.TRAIN
                if self.stack:
                    self.stack.pop()
                if self.stack == ["{t"]:
                    self.expect_key = True  # the end of a setting's call value
            if in_train and text == "..":
                self.expect_key = False
        elif tok.kind == "NAME":
            if in_train:
                if self.expect_key and not self.first_key:
                    tok.role = _Role.KEY
                self.first_key = self.first_key and not self.expect_key
                self.expect_key = not self.expect_key
            elif text in _GUARD_WORDS and not self.stack and not self.guarded:
                tok.role, self.guarded = _Role.GUARD, True
        elif in_train:  # a number or a string ends a setting's value
            self.expect_key = True
        self.prev = tok

    def _before_operand(self) -> bool:
        """Whether the previous token leaves room for an operand only (so a `-` here is unary)."""
        p = self.prev
        if p is None:
            return True
        if p.kind in ("NUMBER", "STRING", "MODE") or p.text in (")", "]"):
            return False
        return not (p.kind == "NAME" and p.text not in _PREFIX_WORDS)

    def in_index(self) -> bool:
        """Whether the next token is inside `[...]` (a step index, written without spaces)."""
        return bool(self.stack) and self.stack[-1] == "["


def _gap(p: _Tok, c: _Tok, in_index: bool) -> str:
    """The spaces between two tokens on one line."""
    pt, ct = p.text, c.text
    if p.kind == "OP" and pt in ("(", "["):
        return ""
    if p.kind == "OP" and pt == "{":
        return " " if p.role is _Role.TRAIN else ""
    if c.kind == "OP":
        if ct in (")", "]", ",", ":"):
            return ""
        if ct == "}":
            return " " if c.role is _Role.TRAIN else ""
    if p.kind == "OP" and pt in (",", ":"):
        return " "
    if in_index or (c.kind == "OP" and ct == "["):
        return ""
    if (p.kind == "OP" and pt == "..") or (c.kind == "OP" and ct == ".."):
        return ""
    if p.kind == "OP" and pt == "=":
        return " " if p.role is _Role.ASSIGN else ""
    if c.kind == "OP" and ct == "=":
        return " " if c.role is _Role.ASSIGN else ""
    if p.role is _Role.UNARY:
        return ""
    if c.kind == "OP" and ct == "(":
        return "" if p.kind == "NAME" and pt not in _PREFIX_WORDS else " "
    if c.role is _Role.KEY:
        return "  "
    return " "


def _layout(lines: list[_Line]) -> list[_Out]:
    """The output lines, re-spaced and re-indented (not yet aligned)."""
    cont = [bool(line.toks) and line.toks[0].continues for line in lines]
    # Whether a line without tokens lies inside a statement (the next line with tokens continues it).
    inside = [False] * len(lines)
    nxt = False
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].toks:
            nxt = cont[i]
        else:
            inside[i] = nxt
    out: list[_Out] = []
    stmt: _Statement | None = None
    for i, line in enumerate(lines):
        if not line.toks:
            if line.comment is not None:
                out.append(_Out(_Kind.COMMENT, INDENT if inside[i] else 0, line.comment))
            elif not line.backslash and out and out[-1].kind is not _Kind.BLANK:
                out.append(_Out(_Kind.BLANK))
            continue  # (a line holding only a backslash continuation is dropped: it is whitespace)
        if not cont[i] or stmt is None:
            stmt = _Statement(line.toks[0])
            indent = 0
        else:
            first = line.toks[0]
            indent = 0 if first.terminal in CLOSE else INDENT
        code: list[str] = []
        guard_at = None
        for j, tok in enumerate(line.toks):
            in_index = stmt.in_index()
            prev = stmt.prev
            stmt.role(tok)
            if j:
                code.append(_gap(prev, tok, in_index))  # type: ignore[arg-type]
            if tok.role is _Role.GUARD and not cont[i]:
                guard_at = len("".join(code))
            code.append(tok.text)
        if line.backslash:
            code.append(" \\")
        out.append(_Out(_Kind.CODE, indent, "".join(code), line.comment, guard_at))
    while out and out[-1].kind is _Kind.BLANK:
        out.pop()
    return out


def _align(out: list[_Out], budget: int) -> None:
    """Guards of consecutive guarded equations in one column; end-of-line comments likewise.

    The padding is counted before it is made: past `budget` characters in all, the spec is
    refused (a 1 MB spec of long aligned lines must not grow without bound).
    """
    def groups(test):
        run: list[_Out] = []
        for o in out + [_Out(_Kind.BLANK)]:
            if test(o):
                run.append(o)
            elif run:
                yield run
                run = []

    def spend(chars: int) -> None:
        nonlocal budget
        budget -= chars
        if budget < 0:
            raise SpecError([Diagnostic("limit", f"formatted, the spec would have more than {MAX_SPEC_BYTES:,} "
                                        f"characters (the limit of a spec)", Span(1, 1, 1, 2))])

    for run in groups(lambda o: o.kind is _Kind.CODE and o.guard_at is not None):
        heads = [o.code[:o.guard_at].rstrip(" ") for o in run]
        column = max(len(h) for h in heads) + GUARD_GAP
        spend(sum(column - (o.guard_at or 0) for o in run))
        for o, head in zip(run, heads):
            o.code = head.ljust(column) + o.code[o.guard_at:]
            o.guard_at = column
    for run in groups(lambda o: o.kind is _Kind.CODE and o.comment is not None):
        column = max(o.indent + len(o.code) for o in run) + COMMENT_GAP
        spend(sum(column - o.indent - len(o.code) for o in run))
        for o in run:
            o.code = o.code.ljust(column - o.indent)


def format_text(text: str) -> str:
    """`text` in canonical layout, with every comment.  Raises SpecError if it does not parse."""
    spec = parse(text)
    out = _layout(_lines(text))
    size = sum(o.indent + len(o.code) + len(o.comment or "") + 1 for o in out)
    _align(out, MAX_SPEC_BYTES - size)
    rendered = []
    for o in out:
        if o.kind is _Kind.BLANK:
            rendered.append("")
        elif o.kind is _Kind.COMMENT:
            rendered.append(" " * o.indent + o.code)
        else:
            rendered.append(" " * o.indent + o.code + (o.comment if o.comment is not None else ""))
    result = "".join(line + "\n" for line in rendered)
    if len(result) > MAX_SPEC_BYTES:
        raise SpecError([Diagnostic("limit", f"formatted, the spec would have {len(result):,} characters; the "
                                    f"limit is {MAX_SPEC_BYTES:,}", Span(1, 1, 1, 2))])
    if parse(result) != spec:  # pragma: no cover - a formatter bug, never a different spec
        raise AssertionError("fmt would change the meaning of the spec; the file is left as it was")
    return result
