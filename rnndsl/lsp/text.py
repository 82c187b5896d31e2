"""Spec text -> tokens, statements and the names they define, without the parser.

An editor asks about text that is often broken (half a line typed), so this module never
fails: it reads the token stream of syntax/tokens.py (the grammar's terminals; an unknown
character is one `ERROR` token), groups the tokens into statements the way the parser's
post-lexer does (`tokens.Statements`: a newline inside brackets or next to `|`, `+`, `-`, `*`,
`/`, `,`, `=` does not end one), and finds each statement's defining name.  Positions are
0-based lines and columns in code points (the server converts them to the client's units).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from ..syntax.tokens import CLOSE, OPEN, Statements, tokens

__all__ = ["Position", "Range", "Token", "Statement", "Definition", "TextIndex", "index_text", "STATEMENT_KEYWORDS"]

STATEMENT_KEYWORDS = ("model", "about", "data", "steps", "init", "defaults", "layer", "train", "input", "target",
                      "param")

@dataclass(frozen=True, order=True)
class Position:
    """0-based line and column (code points)."""

    line: int
    col: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position

    def contains(self, pos: Position) -> bool:
        return self.start <= pos <= self.end


@dataclass
class Token:
    """One token of syntax/tokens.py (type NAME, NUMBER, STRING, MODE, OP, ERROR, COMMENT, WS, CONT, NL) and
    its place."""

    type: str
    text: str
    offset: int
    end: int
    start_pos: Position
    end_pos: Position
    terminal: str = ""  # the grammar's terminal (tokens.Token.terminal)
    index: int = -1  # among the significant tokens
    depth: int = 0  # brackets open before it, in its statement
    stmt: int = -1  # its statement

    @property
    def range(self) -> Range:
        return Range(self.start_pos, self.end_pos)

    def is_op(self, *texts: str) -> bool:
        return self.type == "OP" and self.text in texts


@dataclass
class Statement:
    """The significant tokens of one statement, what it is and the name it defines."""

    tokens: list[Token]
    kind: str  # stream, value, layer, param, input, target, init, data, steps, model, about, defaults, train, other
    name: Token | None = None  # the defining name (for a `data` line: the dataset's name)
    body: int = 0  # index in `tokens` of the first token of the right side (after `=`), or len(tokens)

    @property
    def range(self) -> Range:
        return Range(self.tokens[0].start_pos, self.tokens[-1].end_pos)


@dataclass(frozen=True)
class Definition:
    """A place that defines (or declares) a name."""

    name: str
    kind: str  # stream, value, layer, param, input, target, init
    token: Token = field(compare=False)
    statement: int = 0


class TextIndex:
    """The tokens, statements and definitions of one text."""

    def __init__(self, text: str, recover: bool = False):
        self.text = text
        self.lines = text.split("\n")
        self._starts = [0]
        for line in self.lines[:-1]:
            self._starts.append(self._starts[-1] + len(line) + 1)
        self.all_tokens = self._lex()
        self.tokens = [t for t in self.all_tokens if t.type not in ("WS", "CONT", "COMMENT", "NL")]
        for i, t in enumerate(self.tokens):
            t.index = i
        self._offsets = [t.offset for t in self.tokens]
        self.statements = self._statements(recover)
        self.definitions: dict[str, list[Definition]] = {}
        for i, st in enumerate(self.statements):
            self._define(i, st)

    # ---- positions -------------------------------------------------------------------------
    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._starts, offset) - 1
        return Position(line, offset - self._starts[line])

    def offset(self, pos: Position) -> int:
        if pos.line >= len(self.lines):
            return len(self.text)
        line = max(pos.line, 0)
        return self._starts[line] + min(max(pos.col, 0), len(self.lines[line]))

    # ---- tokens --------------------------------------------------------------------------
    def _lex(self) -> list[Token]:
        return [Token(t.type, t.text, t.offset, t.end, self.position(t.offset), self.position(t.end), t.terminal)
                for t in tokens(self.text)]

    def token_at(self, pos: Position) -> Token | None:
        """The significant token under a position (a word that ends at it counts, as a cursor after it)."""
        offset = self.offset(pos)
        i = bisect.bisect_right(self._offsets, offset) - 1
        under = self.tokens[i] if 0 <= i < len(self.tokens) and self.tokens[i].offset <= offset < self.tokens[i].end \
            else None
        if under is not None and under.type in ("NAME", "MODE"):
            return under
        before = next((t for t in self.tokens[max(i - 1, 0):i + 1] if t.end == offset and t.type == "NAME"), None)
        return before or under

    def tokens_before(self, pos: Position) -> list[Token]:
        """The significant tokens that end at or before a position."""
        offset = self.offset(pos)
        i = bisect.bisect_right(self._offsets, offset)  # tokens that start at or before it; the last may go past
        return [t for t in self.tokens[:i] if t.end <= offset]

    def prev(self, tok: Token) -> Token | None:
        """The token before `tok` in its statement."""
        if tok.index > 0 and self.tokens[tok.index - 1].stmt == tok.stmt:
            return self.tokens[tok.index - 1]
        return None

    def next(self, tok: Token) -> Token | None:
        """The token after `tok` in its statement."""
        if tok.index + 1 < len(self.tokens) and self.tokens[tok.index + 1].stmt == tok.stmt:
            return self.tokens[tok.index + 1]
        return None

    def statement_of(self, tok: Token) -> Statement | None:
        return self.statements[tok.stmt] if 0 <= tok.stmt < len(self.statements) else None

    def enclosing_open(self, tok_or_index: "Token | int", opener: str = "(") -> Token | None:
        """The unclosed bracket before a token (or before a significant-token index), in the same statement."""
        i = tok_or_index.index if isinstance(tok_or_index, Token) else tok_or_index
        if i <= 0 or i > len(self.tokens):
            return None
        stmt = self.tokens[i - 1].stmt if isinstance(tok_or_index, int) else tok_or_index.stmt
        depth = 0
        for j in range(i - 1, -1, -1):
            t = self.tokens[j]
            if t.stmt != stmt:
                return None
            if t.type != "OP":
                continue
            if t.terminal in CLOSE:
                depth += 1
            elif t.terminal in OPEN:
                if depth == 0:
                    return t if t.text == opener else None
                depth -= 1
        return None

    # ---- statements ------------------------------------------------------------------------
    def _starts_statement(self, i: int) -> bool:
        """Whether the significant token i looks like the first of a statement (used to recover from
        unclosed brackets in a text that does not parse)."""
        t = self.tokens[i]
        if t.start_pos.col != 0 or t.type != "NAME":
            return False
        nxt = [x.text for x in self.tokens[i + 1:i + 5]]
        if t.text in STATEMENT_KEYWORDS:
            return bool(nxt) and nxt[0] not in ("=", "(", "[", ",", ")")
        return nxt[:1] == ["="] or nxt[:4] == ["[", "t", "]", "="]

    def _statements(self, recover: bool) -> list[Statement]:
        groups: list[list[Token]] = []
        split = Statements()
        for tok in self.all_tokens:
            # recovering: a line that starts like a statement starts one, even inside unclosed brackets
            force = recover and tok.index >= 0 and split.inside and self._starts_statement(tok.index)
            if split.starts(tok, force):
                groups.append([])
            if tok.index < 0:
                continue
            tok.depth = split.level
            tok.stmt = len(groups) - 1
            groups[-1].append(tok)
        return [self._classify(g) for g in groups]

    @staticmethod
    def _classify(toks: list[Token]) -> Statement:
        texts = [t.text for t in toks]
        first = toks[0]

        def body_after_equal() -> int:
            return next((i + 1 for i, t in enumerate(toks) if t.is_op("=") and t.depth == 0), len(toks))

        if first.type == "NAME" and first.text in STATEMENT_KEYWORDS:
            name = toks[1] if len(toks) > 1 and toks[1].type == "NAME" else None
            kind = first.text
            if kind in ("layer", "init"):
                return Statement(toks, kind, name, body_after_equal())
            if kind in ("model", "about", "steps", "defaults", "train"):
                return Statement(toks, kind, None, 1)
            return Statement(toks, kind, name, len(toks))
        if first.type == "NAME" and texts[1:5] == ["[", "t", "]", "="]:
            return Statement(toks, "stream", first, 5)
        if first.type == "NAME" and texts[1:2] == ["="]:
            return Statement(toks, "value", first, 2)
        return Statement(toks, "other", None, 0)

    def _define(self, i: int, st: Statement) -> None:
        if st.name is None:
            return
        if st.kind == "data":
            from ..catalogue import DATASETS

            ds = DATASETS.get(st.name.text)
            name = ds.input if ds is not None else "image"
            self.definitions.setdefault(name, []).append(Definition(name, "input", st.name, i))
            return
        if st.kind in ("stream", "value", "layer", "param", "input", "target", "init"):
            self.definitions.setdefault(st.name.text, []).append(Definition(st.name.text, st.kind, st.name, i))

    def defined(self, name: str, *kinds: str) -> list[Definition]:
        """The definitions of a name, of the given kinds (all kinds if none is given)."""
        return [d for d in self.definitions.get(name, []) if not kinds or d.kind in kinds]

    def names(self, *kinds: str) -> list[str]:
        """Every defined name of the given kinds, in order of first definition."""
        return [n for n, ds in self.definitions.items() if any(not kinds or d.kind in kinds for d in ds)]


def index_text(text: str, recover: bool = False) -> TextIndex:
    """Tokens, statements and definitions of a text (`recover`: a line at column 0 that starts like a
    statement starts one even inside unclosed brackets, for text that does not parse)."""
    return TextIndex(text, recover)
