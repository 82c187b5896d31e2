"""syntax/tokens.py: the token stream of the formatter and the language server is the grammar's."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from rnndsl.errors import SpecError
from rnndsl.syntax import parse
from rnndsl.syntax.parser import _parser
from rnndsl.syntax.tokens import SIGNIFICANT, Statements, tokens

TEXTS = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in sorted((ROOT / "specs").rglob("*.rnn"))]
for _md in sorted((ROOT / "docs").glob("*.md")):
    TEXTS += [(f"{_md.name} block {i}", b) for i, b in
              enumerate(re.findall(r"```rnn\n(.*?)```", _md.read_text(encoding="utf-8"), flags=re.S))]
TEXTS.append(("continued", 'model m "a # b"\n\n  data mnist   # c\nx = image |\n    conv(8, \\\n 3) # d\r\n'
                           "    | gap\nh[t] = x + h[t-1] when t in {1, 3}\n"))
IDS = [name for name, _ in TEXTS]


def _covers(text: str) -> None:
    toks = tokens(text)
    assert "".join(t.text for t in toks) == text
    assert all(a.end == b.offset for a, b in zip(toks, toks[1:])) and all(t.text == text[t.offset:t.end] for t in toks)


@pytest.mark.parametrize("name,text", TEXTS, ids=IDS)
def test_the_significant_tokens_are_the_parsers(name: str, text: str) -> None:
    """Same texts, same terminals (keywords included) as Lark's lexer, and every character in a token."""
    _covers(text)
    mine = [(t.text, t.terminal) for t in tokens(text) if t.type not in ("WS", "CONT", "NL", "COMMENT")]
    assert mine == [(str(t), t.type) for t in _parser().lex(text) if t.type != "_NL"]
    assert [t.text for t in tokens(text) if t.type == "COMMENT"] == \
        [str(t) for t in _parser().lex(text, dont_ignore=True) if t.type == "COMMENT"]


@pytest.mark.parametrize("name,text", TEXTS, ids=IDS)
def test_statements_end_where_the_post_lexer_ends_them(name: str, text: str) -> None:
    """Statements.starts(tok) is true exactly where the parser's post-lexer lets a newline through."""
    split = Statements()
    mine = [starts for t in tokens(text) for starts in [split.starts(t)] if t.type in SIGNIFICANT]
    theirs, newline = [], True
    for t in _parser().lex(text):  # the parser's tokens, after its post-lexer
        if t.type == "_NL":
            newline = True
        else:
            theirs.append(newline)
            newline = False
    assert mine == theirs


def test_a_text_that_does_not_lex_still_gives_tokens() -> None:
    text = 'x = a ~ b\nmodel "unclosed\n@ 1.5.2 \\ y'
    toks = [(t.type, t.text) for t in tokens(text) if t.type not in ("WS", "NL")]
    assert ("ERROR", "~") in toks and ("ERROR", '"unclosed') in toks and ("ERROR", "@") in toks
    assert ("ERROR", "\\") in toks and ("NUMBER", "1.5") in toks
    _covers(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab t_1.e"#@\\\n\r\t=|+-*/()[]{},:%<>!~\u00e9')), max_size=60))
def test_any_text_gives_tokens_and_a_parsed_one_no_error_token(text: str) -> None:
    _covers(text)
    try:
        parse(text)
    except SpecError:
        return
    assert not [t for t in tokens(text) if t.type == "ERROR"]
