"""User strings never become DOT syntax, and the parser cache (a pickle) is read only from a private folder."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from rnndsl.backends.dot import emit_dot, render_bytes
from rnndsl.pipeline import compile_text
from rnndsl.syntax import parser as P

BODY = "data mnist\nsteps 2\nh[t] = tanh(conv(image, 4, 3) + conv(h[t-1], 4, 1))\nout = h[last] | conv(10, 1) | gap\n"
HAS_DOT = shutil.which("dot") is not None


def _quoted_free(dot: str) -> str:
    """The DOT text with every quoted string and HTML label removed: what Graphviz reads as syntax."""
    text = re.sub(r'"(\\.|[^"\\])*"', '""', dot)
    return re.sub(r"<<table.*?</table>>", "<>", text)


@pytest.mark.parametrize("view", ["unrolled", "folded"])
def test_a_title_that_looks_like_html_stays_text(view: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    title = f'<T>]; leak [label=<x> image=<{secret}>] //'
    dot = emit_dot(compile_text(f'model m "{title}"\n' + BODY), view=view)
    syntax = _quoted_free(dot)
    assert "image=" not in syntax and "leak" not in syntax
    if HAS_DOT:
        svg = render_bytes(dot, "svg").decode()
        assert "<image" not in svg


def test_a_backslash_at_the_end_of_a_string_renders() -> None:
    dot = emit_dot(compile_text('model m "t\\"\nabout "x\\"\n' + BODY))
    assert _quoted_free(dot).count('""') > 0
    if HAS_DOT:
        assert render_bytes(dot, "svg").startswith(b"<?xml")


def test_the_parser_cache_lives_in_a_private_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    tmp_path.chmod(0o700)
    path = P._cache_path()
    assert path is not None and path.startswith(str(tmp_path / "rnndsl"))
    assert not path.startswith(tempfile.gettempdir() + os.sep + "rnndsl-parser")
    assert os.stat(tmp_path / "rnndsl").st_mode & 0o077 == 0


def test_no_cache_where_others_can_write(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "rnndsl").mkdir(mode=0o700)
    (tmp_path / "rnndsl").chmod(0o777)  # a planted, world-writable folder
    assert P._cache_path() is None
    (tmp_path / "rnndsl").chmod(0o700)
    tmp_path.chmod(0o777)  # the folder above it is world-writable: someone could swap ours
    assert P._cache_path() is None
    tmp_path.chmod(0o700)
    planted = Path(P._cache_path() or "")
    planted.write_bytes(b"not a pickle")
    planted.chmod(0o666)
    assert P._cache_path() is None  # a cache file others can write is never loaded


def test_the_cache_can_be_turned_off(monkeypatch) -> None:
    monkeypatch.setenv("RNNDSL_PARSER_CACHE", "0")
    assert P._cache_path() is None
