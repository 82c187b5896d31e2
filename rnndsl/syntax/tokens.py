"""Spec text -> tokens: the one token stream of the formatter and the language server.

The scanner is made from the grammar's own terminals (rnn.lark, as Lark compiled them): the same
patterns, tried in the order Lark's basic lexer tries them, keywords read as names the way Lark
reads them.  Unlike the parser's lexer it keeps everything and never fails: whitespace, comments,
every physical newline and each backslash continuation are tokens, and a character no terminal
matches is one ERROR token (an unclosed string is one ERROR token to the end of its line), so a
half-typed text is still cut where the grammar cuts it.  A text the parser accepts has no ERROR
token, and its significant tokens are exactly the parser's.

`Statements` is the parser's post-lexer rule for where a statement ends, one token at a time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .parser import _CLOSE, _JOIN_AFTER, _JOIN_BEFORE, _OPEN, _parser

__all__ = ["Token", "tokens", "Statements", "TYPES", "SIGNIFICANT", "OPEN", "CLOSE", "JOIN_AFTER", "JOIN_BEFORE"]

# NAME (keywords too), NUMBER, STRING, MODE (`@train`), OP (punctuation and comparisons), COMMENT, WS
# (spaces and tabs), CONT (a backslash continuation: whitespace that ends a physical line), NL (one
# physical newline), ERROR.
TYPES = ("NAME", "NUMBER", "STRING", "MODE", "OP", "COMMENT", "WS", "CONT", "NL", "ERROR")
SIGNIFICANT = frozenset({"NAME", "NUMBER", "STRING", "MODE", "OP", "ERROR"})
# The post-lexer's terminal sets (syntax/parser.py).
OPEN, CLOSE = frozenset(_OPEN), frozenset(_CLOSE)
JOIN_AFTER = frozenset(_JOIN_AFTER)    # a newline after one of these does not end the statement
JOIN_BEFORE = frozenset(_JOIN_BEFORE)  # nor one before one of these

_OWN_TYPE = {"NAME": "NAME", "NUMBER": "NUMBER", "STRING": "STRING", "MODE": "MODE", "COMMENT": "COMMENT"}
_NEWLINES = "_NL"  # the grammar's newline terminal: newlines and the indentation after them, cut here per line
_LINE = re.compile(r"\r?\n|[^\r\n]+")
_UNCLOSED = re.compile(r'"[^"\n]*')


@dataclass(frozen=True)
class Token:
    """One token: its type (TYPES), its text, its offsets in the text, and the grammar's terminal
    (`NAME`, `MODEL` for the keyword, `_PIPE`, `CMP`, `COMMENT`, ...; "" for WS, CONT, NL and ERROR)."""

    type: str
    text: str
    offset: int
    end: int
    terminal: str = ""


@dataclass(frozen=True)
class _Scanner:
    regex: re.Pattern[str]  # one group per terminal, in the order Lark's basic lexer tries them
    groups: dict[str, str]  # regex group -> terminal
    keywords: dict[str, str]  # a keyword's text -> its terminal (the NAME pattern reads it; Lark retypes it)
    ignored: frozenset[str]  # the whitespace terminals (%ignore, comments aside)


@functools.lru_cache(maxsize=1)
def _scanner() -> _Scanner:
    parser = _parser()
    terminals = list(parser.terminals)
    regexes = [t.pattern.to_regexp() for t in terminals if t.pattern.type == "re"]
    keywords = {t.pattern.value: t.name for t in terminals
                if t.pattern.type == "str" and any(re.fullmatch(r, t.pattern.value) for r in regexes)}
    scanned = [t for t in terminals if t.name not in keywords.values()]
    scanned.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    regex = re.compile("|".join(f"(?P<t{i}>{t.pattern.to_regexp()})" for i, t in enumerate(scanned)))
    return _Scanner(regex, {f"t{i}": t.name for i, t in enumerate(scanned)}, keywords,
                    frozenset(parser.lexer_conf.ignore) - {"COMMENT"})


def tokens(text: str) -> list[Token]:
    """Every token of `text`, in order, covering every character.

    The text is read as the parser reads it, with a newline added when it does not end with one
    (so a last line ending in `\\` or a lone carriage return lexes); the added newline is then cut
    from the last token again."""
    added = not text.endswith("\n")
    out = _scan(text + "\n" if added else text)
    if added:
        last = out.pop()
        if len(last.text) > 1:
            out.append(Token(last.type, last.text[:-1], last.offset, last.end - 1, last.terminal))
    return out


def _scan(text: str) -> list[Token]:
    sc = _scanner()
    out: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        m = sc.regex.match(text, pos)
        if m is None:
            bad = _UNCLOSED.match(text, pos) if text[pos] == '"' else None
            end = bad.end() if bad is not None else pos + 1
            out.append(Token("ERROR", text[pos:end], pos, end))
            pos = end
            continue
        terminal, word, end = sc.groups[m.lastgroup or ""], m.group(), m.end()
        if terminal == _NEWLINES:
            for part in _LINE.finditer(word):
                kind = "NL" if part.group()[-1] in "\r\n" else "WS"
                out.append(Token(kind, part.group(), pos + part.start(), pos + part.end()))
        elif terminal in sc.ignored:
            out.append(Token("CONT" if "\n" in word else "WS", word, pos, end))
        elif terminal == "NAME":
            out.append(Token("NAME", word, pos, end, sc.keywords.get(word, "NAME")))
        else:
            out.append(Token(_OWN_TYPE.get(terminal, "OP"), word, pos, end, terminal))
        pos = end
    return out


class Statements:
    """Where statements end, as the parser's post-lexer says, fed one token at a time.

    A newline ends a statement unless it is inside brackets, follows `| + - * / , =` or precedes
    `| + * /`; a backslash continuation is whitespace.  `starts(tok)` says whether a significant
    token begins a statement; `level` is then the number of brackets open before it in its
    statement (an opening bracket counts at the level outside it, a closing one inside it)."""

    def __init__(self) -> None:
        self.depth = 0
        self.level = 0
        self.prev = ""  # the terminal of the previous significant token ("" before the first)
        self._pending = False  # a newline that ends the statement, unless the next token joins it
        self._first = True

    @property
    def inside(self) -> bool:
        """Whether the statement so far cannot end here (a bracket is open, or an operator wants more)."""
        return self.depth > 0 or self.prev in JOIN_AFTER

    def starts(self, tok: Token, force: bool = False) -> bool:
        """Feed `tok` (anything with a token's `type` and `terminal`); whether it is significant and
        starts a statement (`force`: it does, whatever the rule says, for text that does not parse)."""
        if tok.type == "NL":
            if self.depth == 0 and self.prev not in JOIN_AFTER:
                self._pending = True
            return False
        if tok.type not in SIGNIFICANT:
            return False
        new = self._first or force or (self._pending and tok.terminal not in JOIN_BEFORE)
        if new:
            self.depth = 0
        self._first = self._pending = False
        if tok.terminal in OPEN:
            self.level = self.depth
            self.depth += 1
        elif tok.terminal in CLOSE:
            self.depth = max(0, self.depth - 1)
            self.level = self.depth
        else:
            self.level = self.depth
        self.prev = tok.terminal
        return new
