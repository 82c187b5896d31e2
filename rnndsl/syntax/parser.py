"""Text -> AST.  The only place Lark is touched; its exceptions never leave this module."""

from __future__ import annotations

import functools
import hashlib
import math
import os
import stat
from importlib import resources
from typing import Any, Iterator

import lark
from lark import Token, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import Transformer_NonRecursive

from ..errors import Diagnostic, Span, SpecError
from ..limits import MAX_GUARD_STEPS, MAX_NESTING, MAX_NUMBER_CHARS, MAX_OPERATORS, MAX_SPEC_BYTES, MAX_TOKENS
from . import ast as A

__all__ = ["parse", "grammar_text", "KEYWORDS", "MAX_OPERATORS"]

KEYWORDS = ("model", "about", "data", "steps", "init", "defaults", "layer", "train", "input", "target", "param",
            "when", "otherwise", "and", "or", "not", "in", "t", "last")

# How terminals are named in "expected ..." messages.
_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a \"string\"",
    "_NL": "end of line", "$END": "end of file", "MODE": "'@train'", "CMP": "a comparison (==, <, ...)",
    "_PIPE": "'|'", "_PLUS": "'+'", "_MINUS": "'-'", "_STAR": "'*'", "_SLASH": "'/'", "_LPAR": "'('", "_RPAR": "')'",
    "_LSQB": "'['", "_RSQB": "']'", "_LBRACE": "'{'", "_RBRACE": "'}'", "_COMMA": "','",
    "_EQUAL": "'='", "_PERCENT": "'%'", "_DOTDOT": "'..'", "_COLON": "':'",
}
_OPEN = {"_LPAR", "_LSQB", "_LBRACE"}
_CLOSE = {"_RPAR", "_RSQB", "_RBRACE"}
# A newline next to one of these does not end the statement.
_JOIN_AFTER = {"_PIPE", "_PLUS", "_MINUS", "_STAR", "_SLASH", "_COMMA", "_EQUAL"}
_OPERATORS = {"_PIPE", "_PLUS", "_MINUS", "_STAR", "_SLASH", "AND", "OR", "NOT"}
_JOIN_BEFORE = {"_PIPE", "_PLUS", "_STAR", "_SLASH"}


def grammar_text() -> str:
    """The grammar the package ships (rnndsl/syntax/rnn.lark; grammars/rnn.lark at the top of the tree links to it)."""
    return resources.files("rnndsl.syntax").joinpath("rnn.lark").read_text(encoding="utf-8")


class _Continuations:
    """Post-lexer: newlines inside brackets or beside an operator do not end a statement.

    It also enforces the limits that keep parsing and the passes after it bounded: tokens,
    nesting, operators per statement and the length of a number.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        operators = 0
        pending: Token | None = None
        prev_type = ""
        count = 0
        for tok in stream:
            count += 1
            if count > MAX_TOKENS:
                raise _limit(tok, f"the spec has more than {MAX_TOKENS:,} words, numbers and symbols")
            if tok.type == "_NL":
                if depth == 0 and prev_type not in _JOIN_AFTER and pending is None:
                    pending = tok
                continue
            if pending is not None:
                if tok.type not in _JOIN_BEFORE:
                    yield pending
                    operators = 0
                pending = None
            if tok.type in _OPEN:
                depth += 1
                if depth > MAX_NESTING:
                    raise _limit(tok, f"brackets nested more than {MAX_NESTING} deep")
            elif tok.type in _CLOSE:
                depth = max(0, depth - 1)
            elif tok.type in _OPERATORS:
                operators += 1
                if operators > MAX_OPERATORS:
                    raise _limit(tok, f"more than {MAX_OPERATORS} operators (+ - * / | and or not) in one statement")
            elif tok.type == "NUMBER" and len(tok) > MAX_NUMBER_CHARS:
                raise _limit(tok, f"a number of {len(tok):,} characters (the limit is {MAX_NUMBER_CHARS})")
            prev_type = tok.type
            yield tok
        if pending is not None:
            yield pending


def _limit(tok: Token, what: str) -> SpecError:
    return SpecError([Diagnostic("limit", what, _span_of(tok),
                                 ("rnndsl's limits on specs are listed in docs/language.md, Limits",))])


def _private_dir(path: str) -> bool:
    """Whether `path` is a directory owned by this user that no one else can write."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _cache_path() -> str | None:
    """A per-user file for Lark's parser tables, or None when no safe place exists.

    Lark's cache is a pickle, and loading a pickle runs code: it is kept only in a
    directory this user owns and no one else can write (created 0700), never in a shared
    temp folder.  `RNNDSL_PARSER_CACHE=0` turns it off.
    """
    if os.environ.get("RNNDSL_PARSER_CACHE", "1") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "rnndsl")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not _private_dir(directory) or not _private_dir(base):
        return None
    key = hashlib.sha256((grammar_text() + lark.__version__).encode()).hexdigest()[:16]
    path = os.path.join(directory, f"parser-{key}.lark")
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    return path


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    # The basic lexer: the post-lexer looks one token ahead, which the contextual
    # lexer (that lexes in the parser's current state) cannot allow.  strict=True makes
    # Lark refuse grammar conflicts and colliding terminals (checked with interegular).
    # The analysed LALR tables are cached (see _cache_path): about half a second per start.
    options = dict(parser="lalr", lexer="basic", propagate_positions=True, postlex=_Continuations(),
                   maybe_placeholders=False, strict=True)
    path = _cache_path()
    if path is not None:
        try:
            return lark.Lark(grammar_text(), cache=path, **options)
        except Exception:  # an unreadable or stale cache file: build the tables afresh
            pass
    return lark.Lark(grammar_text(), **options)


def _span_of(obj: Any) -> Span:
    if isinstance(obj, Token):
        return Span(obj.line or 0, obj.column or 0, obj.end_line or 0, obj.end_column or 0)
    if getattr(obj, "empty", True):
        return Span.unknown()
    return Span(obj.line, obj.column, obj.end_line, obj.end_column)


def _int(tok: Token) -> int:
    text = str(tok)
    if not text.isascii() or not text.isdigit():
        raise SpecError([Diagnostic("syntax", f"expected a whole number, got '{text}'", _span_of(tok))])
    return int(text)


def _num(tok: Token) -> int | float:
    text = str(tok)
    if text.isascii() and text.isdigit():
        return int(text)
    value = float(text)
    if not math.isfinite(value):  # 1e999: no float can hold it
        raise _limit(tok, f"the number {text} is too large (a float holds at most about 1.8e308)")
    return value


_TIMED = object()  # the `[t]` of a declaration (a sentinel: a NAME token could spell "timed")


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Parse tree -> AST.  Method names are the grammar's aliases."""

    def start(self, meta, children):
        return A.Spec(tuple(children))

    # statements
    def model(self, meta, c):
        title = str(c[1])[1:-1] if len(c) > 1 else None
        return A.Model(str(c[0]), title, _span_of(meta))

    def about(self, meta, c):
        return A.About(str(c[0])[1:-1], _span_of(meta))

    def data(self, meta, c):
        return A.Data(str(c[0]), _span_of(meta))

    def steps(self, meta, c):
        return A.Steps(_int(c[0]), _span_of(meta))

    def init(self, meta, c):
        v = c[1]
        kind = v.value if isinstance(v, (A.Word, A.Str)) else v.func if isinstance(v, A.VCall) else repr(v.value)
        fill = None
        if isinstance(v, A.VCall):
            if len(v.items) != 1:  # kept as written: symbol collection reports it, with the other errors
                fill = v.items
            else:
                fill = v.items[0].value if isinstance(v.items[0], A.Kwarg) else v.items[0]
        return A.Init(str(c[0]), str(kind), fill, _span_of(meta))

    def param_decl(self, meta, c):
        return A.ParamDecl(str(c[0]), c[1], tuple(c[2:]), _span_of(meta))

    def defaults(self, meta, c):
        return A.Defaults(tuple(c), _span_of(meta))

    def layer_def(self, meta, c):
        return A.LayerDef(str(c[0]), _stages_of(c[1]), _span_of(meta))

    def value_def(self, meta, c):
        return A.ValueDef(str(c[0]), c[1], _span_of(meta))

    def stream_def(self, meta, c):
        guard = c[2] if len(c) > 2 else None
        return A.StreamDef(str(c[0]), c[1], guard, _span_of(meta))

    def train(self, meta, c):
        return A.Train(tuple(c), _span_of(meta))

    def input_decl(self, meta, c):
        shape = c[-1] if isinstance(c[-1], tuple) else None
        return A.InputDecl(str(c[0]), shape, len(c) > 1 and c[1] is _TIMED, _span_of(meta))

    def target_decl(self, meta, c):
        name = str(c[0])
        rest = list(c[1:])
        timed = bool(rest) and rest[0] is _TIMED
        if timed:
            rest.pop(0)
        kind = str(rest.pop(0))
        size = _int(rest.pop(0)) if rest and isinstance(rest[0], Token) else None
        return A.TargetDecl(name, kind, size, timed, tuple(rest), _span_of(meta))

    def timed(self, meta, c):
        return _TIMED

    def dims(self, meta, c):
        return tuple(_int(x) for x in c)

    def train_item(self, meta, c):
        return A.TrainItem(str(c[0]), c[1], _span_of(meta))

    # guards
    def when(self, meta, c):
        return A.When(c[0], c[1] if len(c) > 1 else None, _span_of(meta))

    def otherwise(self, meta, c):
        return A.Otherwise(_span_of(meta))

    def cond_and(self, meta, c):
        return A.CondAnd(c[0], c[1], _span_of(meta))

    def cond_or(self, meta, c):
        return A.CondOr(c[0], c[1], _span_of(meta))

    def cond_not(self, meta, c):
        return A.CondNot(c[0], _span_of(meta))

    def cond_in(self, meta, c):
        return A.CondIn(c[0], _span_of(meta))

    def int_list(self, meta, c):
        if len(c) > MAX_GUARD_STEPS:
            raise _limit(c[MAX_GUARD_STEPS], f"a `t in {{...}}` guard of {len(c):,} steps (the limit is "
                         f"{MAX_GUARD_STEPS:,})")
        return tuple(_int(x) for x in c)

    def cond_mod(self, meta, c):
        return A.CondMod(_int(c[0]), str(c[1]), _int(c[2]), _span_of(meta))

    def cond_cmp(self, meta, c):
        return A.CondCmp(str(c[0]), _int(c[1]), _span_of(meta))

    # expressions
    def pipe(self, meta, c):
        return A.Pipe(c[0], c[1], _span_of(meta))

    def stage(self, meta, c):
        func, args, parens = c[0]
        mode = str(c[1])[1:] if len(c) > 1 else None
        return A.Stage(func, args, parens, mode, _span_of(meta))

    def callee_bare(self, meta, c):
        return (str(c[0]), (), False)

    def callee_call(self, meta, c):
        return (str(c[0]), tuple(c[1]) if len(c) > 1 else (), True)

    def add(self, meta, c):
        return A.BinOp("+", c[0], c[1], _span_of(meta))

    def sub(self, meta, c):
        return A.BinOp("-", c[0], c[1], _span_of(meta))

    def mul(self, meta, c):
        return A.BinOp("*", c[0], c[1], _span_of(meta))

    def div(self, meta, c):
        return A.BinOp("/", c[0], c[1], _span_of(meta))

    def neg(self, meta, c):
        if isinstance(c[0], A.Num):  # -3 is a number
            return A.Num(-c[0].value, _span_of(meta))
        return A.Neg(c[0], _span_of(meta))

    def window(self, meta, c):
        return A.Window(str(c[0]), c[1], c[2], _span_of(meta))

    def name(self, meta, c):
        return A.Name(str(c[0]), _span_of(meta))

    def ref(self, meta, c):
        return A.Ref(str(c[0]), c[1], _span_of(meta))

    def call(self, meta, c):
        return A.Call(str(c[0]), tuple(c[1]) if len(c) > 1 else (), _span_of(meta))

    def args(self, meta, c):
        return tuple(c)

    def kwname(self, meta, c):
        return str(c[0])

    def kwarg(self, meta, c):
        return A.Kwarg(str(c[0]), c[1], _span_of(meta))

    def number(self, meta, c):
        return A.Num(_num(c[0]), _span_of(meta))

    def neg_number(self, meta, c):
        return A.Num(-_num(c[0]), _span_of(meta))

    def range(self, meta, c):
        return A.Range(c[0].value, c[1].value, _span_of(meta))

    def word(self, meta, c):
        return A.Word(str(c[0]), _span_of(meta))

    def string(self, meta, c):
        return A.Str(str(c[0])[1:-1], _span_of(meta))

    def vcall(self, meta, c):
        return A.VCall(str(c[0]), tuple(c[1:]), _span_of(meta))

    # indices
    def rel(self, meta, c):
        return A.Rel(0)

    def rel_minus(self, meta, c):
        return A.Rel(-_int(c[0]))

    def rel_plus(self, meta, c):
        return A.Rel(_int(c[0]))

    def absolute(self, meta, c):
        return A.Abs(_int(c[0]))

    def last(self, meta, c):
        return A.Last(0)

    def last_minus(self, meta, c):
        return A.Last(-_int(c[0]))


def _stages_of(expr: A.Expr) -> tuple[A.Stage, ...]:
    """A layer definition `conv(8, 3) | elu` read as a chain of stages."""
    if isinstance(expr, A.Pipe):
        return _stages_of(expr.value) + (expr.stage,)
    if isinstance(expr, A.Call):
        return (A.Stage(expr.func, expr.args, True, None, expr.span),)
    if isinstance(expr, A.Name):
        return (A.Stage(expr.id, (), False, None, expr.span),)
    raise SpecError([Diagnostic(
        "syntax", "a layer definition is a chain of layers such as `conv(8, 3) | elu`",
        getattr(expr, "span", Span.unknown()))])


def _describe(names: set[str]) -> str:
    words = sorted({_WORDS.get(n, f"'{n.lower()}'" if n.isupper() else f"'{n}'") for n in names})
    if not words:
        return "nothing"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _token_text(tok: Token) -> str:
    return "end of line" if tok.type == "_NL" else f"'{tok}'"


def _end_span(text: str) -> Span:
    lines = text.rstrip("\n").split("\n")
    line = len(lines)
    col = len(lines[-1]) + 1
    return Span(line, col, line, col + 1)


def _syntax_diagnostic(err: UnexpectedInput, text: str) -> Diagnostic:
    if isinstance(err, UnexpectedToken):
        tok = err.token
        expected = set(err.expected)
        if "NAME" in expected:  # keywords allowed only as parameter names add noise
            expected -= {k.upper() for k in KEYWORDS}
        notes: tuple[str, ...] = ()
        if tok.type == "T":
            notes = ("`t` is the time index; a read of another step is written h[t-1]",)
        if tok.type == "$END":
            return Diagnostic("syntax", f"unexpected end of file; expected {_describe(expected)}",
                              _end_span(text), notes)
        span = _span_of(tok)
        if tok.type == "_NL":
            span = Span(tok.line, tok.column, tok.line, tok.column + 1)
        return Diagnostic("syntax", f"unexpected {_token_text(tok)}; expected {_describe(expected)}",
                          span, notes)
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        return Diagnostic("syntax", f"unexpected character '{char}'",
                          Span(err.line, err.column, err.line, err.column + 1))
    if isinstance(err, UnexpectedEOF):
        return Diagnostic("syntax", f"unexpected end of file; expected {_describe(set(err.expected))}",
                          _end_span(text))
    return Diagnostic("syntax", "could not parse the spec", Span.unknown())  # pragma: no cover


def parse(text: str) -> A.Spec:
    """Parse spec text into an AST; raise SpecError (never a Lark exception) on bad input."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([Diagnostic("limit", f"the spec has {len(text):,} characters; the limit is "
                                    f"{MAX_SPEC_BYTES:,}", Span(1, 1, 1, 2))])
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SpecError([Diagnostic("syntax", "the spec contains a NUL byte (is it a binary file?)",
                                    Span(line, 1, line, 2))])
    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = _parser().parse(text)
        return _ToAst().transform(tree)
    except VisitError as err:  # an exception raised inside the transformer
        if isinstance(err.orig_exc, SpecError):
            raise err.orig_exc from None
        raise
    except UnexpectedInput as err:
        raise SpecError([_syntax_diagnostic(err, text)]) from None
