"""The command line: exit codes, output, and that `check` never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


# ---- the CLI's own faults: usage and I/O errors exit 2 with one line, never a traceback --------------
VANILLA = str(ROOT / "specs" / "vanilla.rnn")


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err, err


def test_render_into_a_missing_folder_exits_2(tmp_path, capsys) -> None:
    assert main(["render", VANILLA, "-o", str(tmp_path / "no" / "such" / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err
    _no_traceback(err)


def test_render_onto_a_directory_or_a_device_exits_2(tmp_path, capsys) -> None:
    assert main(["render", VANILLA, "-o", str(tmp_path), "--format", "dot"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["render", VANILLA, "-o", "/dev/null", "--format", "dot"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_render_into_a_read_only_folder_exits_2(tmp_path, capsys) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rc = main(["render", VANILLA, "-o", str(ro / "x.dot")])
        if rc == 0:  # root may write anywhere: then the file must be complete
            assert (ro / "x.dot").read_text().startswith("digraph")
        else:
            assert rc == 2 and "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_render_never_overwrites_its_spec(tmp_path, capsys) -> None:
    spec = tmp_path / "s.rnn"
    original = (ROOT / "specs" / "vanilla.rnn").read_text()
    spec.write_text(original)
    assert main(["render", str(spec), "-o", str(spec), "--format", "dot"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert spec.read_text() == original


def test_a_full_disk_leaves_the_old_file_whole(tmp_path, capsys, monkeypatch) -> None:
    import os

    out = tmp_path / "x.dot"
    out.write_text("old")

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd):
            self.fd = fd

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            os.close(self.fd)

        def write(self, data):
            raise OSError(28, "No space left on device")

    def fdopen(fd, mode="r", *args, **kw):
        return Full(fd) if "w" in mode else real_fdopen(fd, mode, *args, **kw)

    monkeypatch.setattr(os, "fdopen", fdopen)
    assert main(["render", VANILLA, "-o", str(out)]) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "No space left on device" in err
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.dot"]


def test_check_goes_on_after_a_missing_file(capsys) -> None:
    assert main(["check", "-q", "/no/such.rnn", VANILLA]) == 2
    captured = capsys.readouterr()
    assert "vanilla.rnn: ok" in captured.out and "no such file" in captured.err


def test_devices_fifos_and_binary_files_are_not_specs(tmp_path, capsys) -> None:
    import os

    fifo = tmp_path / "fifo.rnn"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        assert main(["check", path]) == 2, path
        _no_traceback(capsys.readouterr().err)
    binary = tmp_path / "bin.rnn"
    binary.write_bytes(b"model x\n\xff\xfe\x00")
    assert main(["check", str(binary)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_a_huge_spec_file_is_refused_without_reading_it(tmp_path, capsys) -> None:
    big = tmp_path / "big.rnn"
    with open(big, "wb") as fh:
        fh.truncate(50_000_000)
    assert main(["check", str(big)]) == 2
    assert "at most 1,000,000" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--seed", "-1"], ["--lr", "-1"], ["--lr", "nan"], ["--epochs", "0"],
                                   ["--batch-size", "0"], ["--limit", "0"], ["--seed", "x"]])
def test_bad_training_flags_exit_2_before_tensorflow(flags) -> None:
    proc = subprocess.run([sys.executable, "-m", "rnndsl", "compile", VANILLA, "--train", *flags],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    _no_traceback(proc.stderr)
    assert "importing TensorFlow" not in proc.stdout


def test_compile_out_naming_an_existing_file_or_a_full_folder_exits_2_before_work(tmp_path) -> None:
    existing = tmp_path / "f"
    existing.write_text("keep me")
    full = tmp_path / "run"
    full.mkdir()
    (full / "model.keras").write_text("an earlier run")
    for out, words in ((existing, "is an existing file"), (full, "already holds files")):
        proc = subprocess.run([sys.executable, "-m", "rnndsl", "compile", VANILLA, "--train", "--data", "synthetic",
                               "--out", str(out)], capture_output=True, text=True)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr
        assert "importing TensorFlow" not in proc.stdout
    assert existing.read_text() == "keep me" and (full / "model.keras").read_text() == "an earlier run"


def test_an_internal_error_exits_3_not_1(monkeypatch, capsys) -> None:
    from rnndsl.cli import check as check_cmd

    def broken(_):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(check_cmd, "summary", broken)
    assert main(["check", VANILLA]) == 3
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: boom" in err and "--traceback" in err
    _no_traceback(err)
