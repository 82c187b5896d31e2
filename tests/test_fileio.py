"""rnndsl.fileio: the one safe reader and the one atomic writer every tool uses."""

from __future__ import annotations

import ast
import os
import stat
import threading
from pathlib import Path

import pytest

from conftest import ROOT
from rnndsl import fileio
from rnndsl.fileio import FileError, ReadOnlyFile, read_text, write_atomic


def test_it_is_a_leaf() -> None:
    """It may be imported from every stage: it imports nothing of rnndsl but errors and limits."""
    tree = ast.parse((ROOT / "rnndsl" / "fileio.py").read_text(encoding="utf-8"))
    imported = {("." * n.level) + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mine = {m for m in imported if m.startswith(".") or m.startswith("rnndsl")}
    assert mine <= {".errors", ".limits"}, mine


def _reason(path, **kw) -> tuple[str, str]:
    with pytest.raises(FileError) as info:
        read_text(path, **kw)
    return info.value.reason, str(info.value)


def test_reads_a_regular_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "a.rnn"
    path.write_bytes("model m \u00e9\n".encode())
    assert read_text(path) == "model m \u00e9\n"


def test_missing_directory_and_devices_are_refused(tmp_path: Path) -> None:
    assert _reason(tmp_path / "nope.rnn") == (fileio.MISSING, f"{tmp_path / 'nope.rnn'}: no such file")
    assert _reason(tmp_path)[0] == fileio.DIRECTORY
    assert _reason("/dev/null", name="null")[1].startswith("null: not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.rnn"
    os.mkfifo(fifo)
    found: list[tuple[str, str]] = []
    reader = threading.Thread(target=lambda: found.append(_reason(fifo)), daemon=True)
    reader.start()
    reader.join(5)  # a blocking open would wait for a writer for ever
    assert not reader.is_alive() and found[0][0] == fileio.SPECIAL


def test_the_size_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "big.rnn"
    path.write_bytes(b"#" * 101)
    assert _reason(path, limit=100) == (fileio.TOO_LARGE, f"{path}: 101 bytes; a spec may have at most 100")
    assert read_text(path, limit=101) == "#" * 101
    with pytest.raises(FileError, match="more than 100 bytes"):
        fileio.decode_text(b"#" * 101, "x", 100)


def test_a_bad_byte_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.rnn"
    path.write_bytes(b"model m\ndata mnist\nout = \xff\n")
    assert _reason(path, name="bad.rnn") == (fileio.NOT_UTF8, "bad.rnn:3: not UTF-8 text (byte 25)")


def test_a_link_is_followed_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "t.rnn"
    target.write_text("model t\n")
    link = tmp_path / "l.rnn"
    link.symlink_to(target.name)
    assert read_text(link) == "model t\n"
    assert _reason(link, follow_links=False)[0] == fileio.LINK


def test_write_replaces_keeping_the_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["a.txt"]
    fresh = tmp_path / "b.txt"
    write_atomic(fresh, b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask


def test_write_goes_through_a_symlink_and_keeps_it(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_text("old")
    link = tmp_path / "l.txt"
    link.symlink_to(target.name)
    write_atomic(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_read_only_files_folders_and_devices_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ro.txt"
    path.write_text("old")
    path.chmod(0o444)
    with pytest.raises(ReadOnlyFile):
        write_atomic(path, b"new")
    assert path.read_text() == "old"
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path, b"x")
    with pytest.raises(OSError, match="not a regular file"):
        write_atomic("/dev/null", b"x")
    assert sorted(os.listdir(tmp_path)) == ["ro.txt"]


def test_a_failure_before_the_rename_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")

    def refuse() -> None:
        raise RuntimeError("changed meanwhile")

    with pytest.raises(RuntimeError):
        write_atomic(path, b"new", before_replace=refuse)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]
