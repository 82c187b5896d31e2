"""The error-case folder: each bad spec starts with the diagnostics it must produce, exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnndsl.errors import render_all
from rnndsl.pipeline import diagnostics_of

CASES = sorted((Path(__file__).parent / "errors").glob("*.rnn"))
EXPECT = re.compile(r"^# expect: (\S+) (\d+):(\d+) (error|warning): (.*)$")


def _expected(text: str) -> list[tuple[str, int, int, str, str]]:
    out = []
    for line in text.splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((m[1], int(m[2]), int(m[3]), m[4], m[5]))
    return out


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_error_case(path: Path) -> None:
    text = path.read_text()
    expected = _expected(text)
    assert expected, f"{path.name} has no '# expect:' line"
    got = sorted((d.code, d.span.line, d.span.col, d.severity, d.message) for d in diagnostics_of(text))
    assert got == sorted(expected)


def test_at_least_twelve_error_kinds() -> None:
    kinds = {e[0] for p in CASES for e in _expected(p.read_text()) if e[3] == "error"}
    assert len(kinds) >= 12, sorted(kinds)


def test_rendering_points_at_the_name_with_a_caret() -> None:
    text = (Path(__file__).parent / "errors" / "typo_name.rnn").read_text()
    out = render_all(diagnostics_of(text), text, "typo.rnn")
    lines = out.splitlines()
    assert lines[0] == "typo.rnn:5:38: error: unknown stream 'hiden'"
    assert lines[1] == "  5 | h[t] = tanh(conv(image, 8, 3) + conv(hiden[t-1], 8, 1))"
    assert lines[2] == "    |                                      ^^^^^^^^^^"
    assert lines[3] == "  note: did you mean 'h'?"


def test_zero_lag_cycle_shows_the_cycle() -> None:
    text = (Path(__file__).parent / "errors" / "zero_lag_cycle.rnn").read_text()
    (diag,) = diagnostics_of(text)
    assert diag.message == "cycle with zero total lag: a[0] -> b[0] -> a[0]"


def test_channel_mismatch_shows_both_shapes() -> None:
    text = (Path(__file__).parent / "errors" / "channel_mismatch.rnn").read_text()
    (diag,) = diagnostics_of(text)
    assert "(28, 28, 8)" in diag.message and "(28, 28, 6)" in diag.message
    assert any("h.conv2" in n and "has shape (28, 28, 6) (line 5)" in n for n in diag.notes)
