"""The docs stay true: every ```rnn block in docs/language.md and docs/data.md checks, the layer table is the registry's."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from rnndsl.catalogue.markdown import catalogue_markdown
from rnndsl.syntax.parser import KEYWORDS, parse
from rnndsl.pipeline import compile_text
from rnndsl.catalogue import KINDS

LANGUAGE = (ROOT / "docs" / "language.md").read_text()
BLOCKS = re.findall(r"```rnn\n(.*?)```", LANGUAGE + (ROOT / "docs" / "data.md").read_text(), flags=re.S)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_rnn_block_in_the_language_reference_checks(block: str) -> None:
    compile_text(block)


def test_layer_table_is_generated_from_the_registry() -> None:
    assert catalogue_markdown() in LANGUAGE, "regenerate with: python -m rnndsl.catalogue.markdown"


def test_grammar_and_registry_agree() -> None:
    for name in KINDS:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in KEYWORDS, name
        parse(f"v = x | {name}\nw = {name}(x)\n")  # the grammar takes every kind as a callee


def test_the_exit_code_table_is_the_enum() -> None:
    from rnndsl.errors import ExitCode

    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    codes = [int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)]
    assert codes == [int(c) for c in ExitCode]


def test_the_backends_table_is_generated_from_its_json() -> None:
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import backends

    figures = json.loads((ROOT / "docs" / "benchmarks-backends.json").read_text(encoding="utf-8"))
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    shown = text.split("<!-- generated from docs/benchmarks-backends.json -->\n", 1)[1].split(
        "<!-- end of generated table -->", 1)[0]
    assert shown == backends.markdown(figures)
    assert set(figures["versions"]) == {"tensorflow", "jax", "torch"} and figures["seed"] == 0
