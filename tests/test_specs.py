"""The seed specs and the patterns: they check, their totals, and their golden IR dumps."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ALL_SPECS, PATTERNS, ROOT, SPECS, spec_id
from rnndsl.ir import INIT
from rnndsl.pipeline import compile_text
from rnndsl.checks.report import ir_dump, summary

SEED_NAMES = ["vanilla", "multistream", "concat", "internal_conv", "lag2",
              "dual", "zigzag", "mix", "nontwin", "twin"]


def load(name: str):
    return compile_text((ROOT / "specs" / f"{name}.rnn").read_text())


def test_all_ten_seed_specs_exist() -> None:
    assert sorted(p.stem for p in SPECS) == sorted(SEED_NAMES)


def test_at_least_four_patterns() -> None:
    names = {p.stem for p in PATTERNS}
    assert {"dilated", "bidirectional", "higher_order"} <= names
    assert names & {"clockwork", "gated_feedback"}


# Warnings a spec is known to give, on purpose: the concat seed reads s[t-4] with 4 steps, as the post's
# model does, and that read only ever gives zeros.
EXPECTED_WARNINGS = {"concat": ["init-only"]}


@pytest.mark.parametrize("path", ALL_SPECS, ids=[spec_id(p) for p in ALL_SPECS])
def test_spec_checks_clean_and_matches_golden_ir(path: Path, golden) -> None:
    checked = compile_text(path.read_text())
    assert [w.code for w in checked.warnings] == EXPECTED_WARNINGS.get(spec_id(path), [])
    golden(ROOT / "tests" / "golden" / "ir" / f"{spec_id(path).replace('/', '__')}.txt", ir_dump(checked))


@pytest.mark.parametrize("name, total", [("vanilla", 1_042), ("dual", 762_816),
                                         ("nontwin", 1_359_264), ("twin", 1_156_512)])
def test_parameter_totals_from_seed_cases(name: str, total: int) -> None:
    checked = load(name)
    assert checked.total_params == total
    assert f"total: {total:,} parameters" in summary(checked)


def test_shared_head_conv_is_counted_once() -> None:
    checked = load("dual")
    (k,) = [layer for layer in checked.layers if layer.id == "K"]
    assert k.uses == 2 and k.params == 3 * 3 * 192 * 192


def _stream_edges(checked, kind: str) -> list[tuple[str, int, str, int]]:
    """(src stream, src step, reader stream, reader step) of unrolled edges of one kind."""
    p = checked.program
    out = []
    for (src, s), (dst, t), data in p.unrolled.edges(data=True):
        if data["attr"].kind == kind and s != INIT:
            out.append((src, s, p.node(dst).owner, t))
    return sorted(out)


def test_zigzag_crosses_after_step_zero() -> None:
    assert _stream_edges(load("zigzag"), "cross") == [
        ("a", 0, "b", 1), ("a", 1, "b", 2), ("a", 2, "b", 3),
        ("b", 0, "a", 1), ("b", 1, "a", 2), ("b", 2, "a", 3)]


def test_mix_crosses_at_steps_one_and_three_only() -> None:
    crossed = _stream_edges(load("mix"), "cross")
    assert sorted({t for *_, t in crossed}) == [1, 3]
    straight = _stream_edges(load("mix"), "same")
    assert sorted({t for src, _, dst, t in straight if src in ("a", "b")}) == [2]


def test_lag2_has_lag_two_edges_at_steps_two_and_three() -> None:
    edges = _stream_edges(load("lag2"), "lag-k")
    assert edges == [("s", 0, "s", 2), ("s", 1, "s", 3)]


def test_dual_never_crosses() -> None:
    assert _stream_edges(load("dual"), "cross") == []


def test_bidirectional_has_reversed_edges() -> None:
    checked = compile_text((ROOT / "specs" / "patterns" / "bidirectional.rnn").read_text())
    assert checked.edge_counts("folded")["reversed"] == 1
    assert len(_stream_edges(checked, "reversed")) == 27  # 28 steps, the last reads the initial state


def test_shapes_are_inferred_across_time() -> None:
    checked = load("twin")
    assert checked.shapes["left"] == (4, 4, 96) and checked.shapes["right"] == (4, 4, 96)
    assert checked.shapes["out"] == (10,)
    assert load("zigzag").shapes["a"] == (32, 32, 96)
