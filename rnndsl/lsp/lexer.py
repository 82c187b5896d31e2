"""A Pygments lexer for .rnn specs (docs, the playground, `pygmentize -l rnndsl/lsp/lexer.py:RnnLexer -x`).

Layer kinds, datasets, optimizers and initialisers come from the catalogue, so a new kind is
highlighted without touching this file.  Only the catalogue is imported (no parser, no pygls).
Its regexes are its own: a test (tests/test_lsp.py) checks that over every spec and every docs
example it cuts the text where syntax/tokens.py (the grammar's terminals) does, with the same
classes and the grammar's keywords.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Whitespace

from ..catalogue import DATASETS, INIT_KINDS, KINDS, OPTIMIZERS, TRAIN_KEYS

__all__ = ["RnnLexer", "KEYWORDS"]

_STATEMENTS = ("model", "about", "data", "steps", "init", "defaults", "layer", "train", "input", "target", "param")
_GUARDS = ("when", "otherwise", "and", "or", "not", "in")
_TIME = ("t", "last")
KEYWORDS = _STATEMENTS + _GUARDS + _TIME  # the grammar's reserved words (a test keeps them equal)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class RnnLexer(RegexLexer):
    """rnndsl specs: statements, stream equations `h[t] = ...`, pipes, guards, train blocks."""

    name = "rnndsl"
    aliases = ["rnn", "rnndsl"]
    filenames = ["*.rnn"]
    mimetypes = ["text/x-rnndsl"]

    tokens = {
        "root": [
            (r"[ \t\f]+", Whitespace),
            (r"\\[ \t\f]*\r?\n", Whitespace),
            (r"\r?\n", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"[^"\n]*"', String.Double),
            # definitions: `layer K =`, `param u:`, `input x[t]`, `target y`, `init h`, `model name`
            (r"(layer)(\s+)(" + _NAME + ")", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (r"(param|input|target|init)(\s+)(" + _NAME + ")", bygroups(Keyword.Declaration, Whitespace,
                                                                       Name.Variable)),
            (r"(model)(\s+)(" + _NAME + ")", bygroups(Keyword.Declaration, Whitespace, Name.Namespace)),
            (r"(data)(\s+)(" + _NAME + ")", bygroups(Keyword.Declaration, Whitespace, Name.Constant)),
            (r"(" + _NAME + r")([ \t]*)(=)(?!=)", bygroups(Name.Variable, Whitespace, Operator)),  # a value, a keyword argument
            (words(_STATEMENTS, suffix=r"\b"), Keyword.Declaration),
            (words(_GUARDS, suffix=r"\b"), Keyword),
            (words(_TIME, suffix=r"\b"), Keyword.Pseudo),
            (words(("true", "false"), suffix=r"\b"), Keyword.Constant),
            (words(tuple(KINDS), suffix=r"\b"), Name.Builtin),
            (words(tuple(OPTIMIZERS) + ("optimizer", *TRAIN_KEYS), suffix=r"\b"), Name.Builtin),
            (words(tuple(INIT_KINDS) + ("learned", "none", "class", "real", "labels"), suffix=r"\b"),
             Name.Builtin.Pseudo),
            (words(tuple(DATASETS), suffix=r"\b"), Name.Constant),
            (r"@" + _NAME, Name.Decorator),
            (_NAME, Name),
            (r"[0-9]+\.[0-9]+([eE][-+]?[0-9]+)?", Number.Float),
            (r"[0-9]+[eE][-+]?[0-9]+", Number.Float),
            (r"[0-9]+", Number.Integer),
            (r"\.\.|==|!=|<=|>=|[<>|=%+\-*/]", Operator),
            (r"[()\[\]{},:]", Punctuation),
        ],
    }
