"""The command line: exit codes, output, and that `check` never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, SPECS
from rnndsl.cli import main


def test_check_prints_the_summary_and_exits_0(capsys) -> None:
    assert main(["check", str(ROOT / "specs" / "vanilla.rnn")]) == 0
    out = capsys.readouterr().out
    assert "vanilla: Vanilla conv-RNN on MNIST" in out
    assert "edges (folded): feed 23, same 1, cross 0, lag-k 0, reversed 0" in out
    assert "total: 1,042 parameters" in out


def test_check_on_a_bad_spec_exits_1_with_file_line_col(capsys) -> None:
    bad = ROOT / "tests" / "errors" / "channel_mismatch.rnn"
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:5:13: error: '+' needs operands of the same shape" in err


def test_check_reports_every_spec_and_fails_if_any_fails(capsys) -> None:
    bad = ROOT / "tests" / "errors" / "typo_name.rnn"
    assert main(["check", "-q", str(SPECS[0]), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "ok" in captured.out and "unknown stream 'hiden'" in captured.err


def test_bad_usage_exits_2(capsys) -> None:
    assert main(["check", "/no/such/file.rnn"]) == 2
    assert "no such file" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "rnndsl", "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_check_never_imports_tensorflow() -> None:
    code = ("import sys; from rnndsl.cli import main; "
            f"rc = main(['check', '-q', *{[str(p) for p in SPECS]!r}]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'tensorflow imported'; "
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
