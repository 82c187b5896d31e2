"""Syntax: the Lark grammar, the AST, the parser (text -> AST) and the printer (AST -> text)."""

from .parser import KEYWORDS, grammar_text, parse
from .printer import unparse

__all__ = ["KEYWORDS", "grammar_text", "parse", "unparse"]
