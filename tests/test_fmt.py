"""`rnndsl fmt`: the canonical layout keeps every comment, is idempotent and never changes meaning."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from rnndsl.checks.report import ir_dump
from rnndsl.cli import main
from rnndsl.errors import SpecError
from rnndsl.pipeline import compile_text
from rnndsl.syntax.format import comments, format_text
from rnndsl.syntax.parser import _JOIN_AFTER, _JOIN_BEFORE, _parser, parse
from test_properties import _spec_text, wirings

SPEC_FILES = sorted((ROOT / "specs").glob("*.rnn")) + sorted((ROOT / "specs" / "patterns").glob("*.rnn")) \
    + sorted((ROOT / "specs" / "sequences").glob("*.rnn"))
DOC_BLOCKS = re.findall(r"```rnn\n(.*?)```", (ROOT / "docs" / "language.md").read_text(encoding="utf-8"), flags=re.S)
CASES = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in SPEC_FILES] \
    + [(f"language.md block {i}", block) for i, block in enumerate(DOC_BLOCKS)]


def lark_comments(text: str) -> Counter:
    """The comments as the parser's own lexer reads them (not fmt's), without trailing whitespace."""
    return Counter(str(t).rstrip(" \t\r\f\v") for t in _parser().lex(text, dont_ignore=True) if t.type == "COMMENT")


def assert_same_meaning(before: str, after: str) -> None:
    assert parse(after) == parse(before)
    try:
        checked = compile_text(before)
    except SpecError:
        return  # parses but does not check: the AST is all there is to compare
    assert ir_dump(compile_text(after)) == ir_dump(checked)


# ---- the repository's specs and the language reference ----------------------------------------------
@pytest.mark.parametrize("name,text", CASES, ids=[name for name, _ in CASES])
def test_fmt_keeps_comments_and_meaning_and_is_idempotent(name: str, text: str) -> None:
    formatted = format_text(text)
    assert format_text(formatted) == formatted
    assert lark_comments(formatted) == lark_comments(text)
    assert Counter(comments(formatted)) == lark_comments(text)
    assert_same_meaning(text, formatted)


@pytest.mark.parametrize("name,text", CASES, ids=[name for name, _ in CASES])
def test_fmt_reads_the_tokens_the_parser_reads(name: str, text: str) -> None:
    from rnndsl.syntax.format import _lines

    mine = [tok.text for line in _lines(text) for tok in line.toks]
    assert mine == [str(t) for t in _parser().lex(text) if t.type != "_NL"]


def test_the_repository_specs_are_formatted(capsys) -> None:
    for path in SPEC_FILES:
        assert format_text(path.read_text(encoding="utf-8")) == path.read_text(encoding="utf-8"), path
    assert main(["fmt", "--check", *map(str, SPEC_FILES)]) == 0
    assert capsys.readouterr().out == ""


# ---- the layout -----------------------------------------------------------------------------------
MESSY = r"""


   # leading comment   
model   m "title # not a comment"   # eol
data mnist
steps 4
defaults bias = false,init=normal( 0.05 )
param u :(64 ,) init = uniform(1)
layer K=conv(8,3)|elu
x[ t ]=image|gaussian_noise(0.1)@train when t==0 # c1
x[t] = -image when t in { 1,3 }
x[t]=image*-1 when not(t<2 or t>=3)and t%2==1
x[t] = image otherwise

h[t] = tanh(conv(x[t], 8, 3)+conv(h[t - 1],8,1)-h[last - 1]*2/ 3) \
     when t > 0 otherwise -(x[t] | conv(8,1))
g = sum(h[0 .. last]) |
   # inside
  conv(8, 1)


out = clip(g, -3, 3) - g   # a
    | conv(10,1)
    | gap
    | softmax     # b
train {
  optimizer adam(lr=-1e-3, beta1=0.9)   batch 64
    seed -1  schedule 0..-1 name "x"
      }
"""

CANONICAL = r"""# leading comment
model m "title # not a comment"  # eol
data mnist
steps 4
defaults bias=false, init=normal(0.05)
param u: (64,) init=uniform(1)
layer K = conv(8, 3) | elu
x[t] = image | gaussian_noise(0.1) @train when t == 0  # c1
x[t] = -image                             when t in {1, 3}
x[t] = image * -1                         when not (t < 2 or t >= 3) and t % 2 == 1
x[t] = image                              otherwise

h[t] = tanh(conv(x[t], 8, 3) + conv(h[t-1], 8, 1) - h[last-1] * 2 / 3) \
    when t > 0 otherwise -(x[t] | conv(8, 1))
g = sum(h[0..last]) |
    # inside
    conv(8, 1)

out = clip(g, -3, 3) - g  # a
    | conv(10, 1)
    | gap
    | softmax  # b
train {
    optimizer adam(lr=-1e-3, beta1=0.9)  batch 64
    seed -1  schedule 0..-1  name "x"
}
"""


def test_the_canonical_layout() -> None:
    assert format_text(MESSY) == CANONICAL
    assert format_text(CANONICAL) == CANONICAL
    assert_same_meaning(MESSY, CANONICAL)


def test_crlf_missing_final_newline_and_trailing_blank_lines() -> None:
    assert format_text(MESSY.replace("\n", "\r\n")) == CANONICAL
    assert format_text(MESSY.rstrip("\n")) == CANONICAL
    assert format_text(MESSY + "\n\n\n") == CANONICAL


def test_empty_and_comment_only_texts() -> None:
    assert format_text("") == ""
    assert format_text("\n \n\t\n") == ""
    assert format_text("  # one\n\n\n#two  \n") == "# one\n\n#two\n"


def test_the_train_block_keeps_its_lines() -> None:
    assert format_text("model m\ntrain{optimizer adam(lr=1e-3) batch 64 epochs 5}\n") == \
        "model m\ntrain { optimizer adam(lr=1e-3)  batch 64  epochs 5 }\n"
    assert format_text("model m\ntrain{\noptimizer sgd\nbatch 64}\n") == \
        "model m\ntrain {\n    optimizer sgd\n    batch 64 }\n"
    assert format_text("model m\ntrain { }\n") == "model m\ntrain { }\n"


def test_guards_align_in_runs_of_consecutive_guarded_equations() -> None:
    text = ("model m\ndata mnist\nsteps 4\n"
            "a[t] = image when t == 0\na[t] = image | flip_lr otherwise\n"
            "b[t] = a[t]\n"
            "c[t] = image | flip_lr when t < 2\n"
            "\n"
            "c[t] = image otherwise\n"
            "out = a[last] + b[last] + c[last] | conv(10, 1) | gap | softmax\n")
    assert format_text(text) == (
        "model m\ndata mnist\nsteps 4\n"
        "a[t] = image           when t == 0\na[t] = image | flip_lr otherwise\n"
        "b[t] = a[t]\n"
        "c[t] = image | flip_lr when t < 2\n"
        "\n"
        "c[t] = image otherwise\n"
        "out = a[last] + b[last] + c[last] | conv(10, 1) | gap | softmax\n")


def test_end_of_line_comments_align_in_runs_of_consecutive_lines() -> None:
    text = "model m  # a\ndata mnist # b\n\nsteps 4 # c\nout = image\n  | gap  # d\n"
    assert format_text(text) == "model m     # a\ndata mnist  # b\n\nsteps 4  # c\nout = image\n    | gap  # d\n"


def test_backslash_continuations_are_kept_and_empty_ones_dropped() -> None:
    text = "model m\ndata mnist\nout = image \\\n\\\n - image \\\n  | gap\n"
    assert format_text(text) == "model m\ndata mnist\nout = image \\\n    - image \\\n    | gap\n"
    assert_same_meaning(text, format_text(text))
    # a backslash line followed by a blank line: the blank line is the newline that ends the statement
    text = "model m \\\n\ndata mnist\n"
    assert format_text(text) == text


def test_spacing_never_merges_or_splits_tokens() -> None:
    text = "model m\ndata mnist\nx = image|blur(sigma=0..0.5,p=1e-3)@train\nout = x*-2e-3|conv(10,1)|gap\n"
    assert format_text(text) == ("model m\ndata mnist\nx = image | blur(sigma=0..0.5, p=1e-3) @train\n"
                                 "out = x * -2e-3 | conv(10, 1) | gap\n")


def test_the_post_lexer_sets_fmt_relies_on() -> None:
    # fmt keeps every line break where it was; these are the tokens a break may follow or precede
    assert _JOIN_AFTER == {"_PIPE", "_PLUS", "_MINUS", "_STAR", "_SLASH", "_COMMA", "_EQUAL"}
    assert _JOIN_BEFORE == {"_PIPE", "_PLUS", "_STAR", "_SLASH"}


@pytest.mark.parametrize("bad", ["model m\nx = (\n", "model m\nout = image |\n", "model\n", "x = 1 $ 2\n",
                                 "steps 4.5\n", "model m\x00\n"])
def test_a_syntax_error_is_raised_not_formatted(bad: str) -> None:
    with pytest.raises(SpecError) as err:
        format_text(bad)
    assert err.value.diagnostics


def test_alignment_past_the_size_limit_is_refused_before_it_is_made() -> None:
    # one 60,000-character equation aligned with 20 short ones would pad them to 1.2 MB
    text = ("model m\nsteps 30\nx[t] = " + "a" * 60_000 + " when t == 0\n"
            + "".join(f"x[t] = b when t == {i}\n" for i in range(1, 21)))
    with pytest.raises(SpecError) as err:
        format_text(text)
    assert err.value.diagnostics[0].code == "limit"


# ---- generated specs: whitespace, line breaks and comments inserted ----------------------------------
_WORDLIKE = re.compile(r"[A-Za-z0-9_]")
_COMMENT_TEXT = st.text(st.characters(blacklist_characters="\n\r\x00", blacklist_categories=("Cs",)), max_size=12)


@st.composite
def commented_specs(draw) -> tuple[str, str]:
    """(a valid spec, the same spec re-spaced, re-indented, split over lines and full of comments)."""
    if draw(st.booleans()):
        names, reads = draw(wirings())
        base = _spec_text(names, reads, draw(st.integers(1, 4)))
    else:
        base = draw(st.sampled_from([text for _, text in CASES]))
    nl = draw(st.sampled_from(["\n", "\r\n"]))

    def comment() -> str:
        return "#" + draw(_COMMENT_TEXT)

    def spaces() -> str:
        return draw(st.sampled_from([" ", "  ", "\t", "   "]))

    def filler() -> str:
        """Between lines: nothing, or blank lines and own-line comments."""
        out = ""
        for _ in range(draw(st.integers(0, 2))):
            out += (draw(st.sampled_from(["", " "])) + comment() if draw(st.booleans()) else spaces()) + nl
        return out

    statements: list[list] = [[]]
    for tok in _parser().lex(base):
        if tok.type == "_NL":
            statements.append([])
        else:
            statements[-1].append(tok)
    out = filler()
    for stmt in statements:
        if not stmt:
            continue
        out += draw(st.sampled_from(["", "", " ", "\t"]))
        depth = 0
        for i, tok in enumerate(stmt):
            out += str(tok)
            depth += tok.type in ("_LPAR", "_LSQB", "_LBRACE")
            depth -= tok.type in ("_RPAR", "_RSQB", "_RBRACE")
            if i + 1 == len(stmt):
                break
            nxt = stmt[i + 1]
            breakable = depth > 0 or tok.type in _JOIN_AFTER or nxt.type in _JOIN_BEFORE
            how = draw(st.sampled_from(["space"] * 6 + ["none", "backslash"] + ["break"] * breakable))
            if how == "break":
                out += (spaces() + comment() if draw(st.booleans()) else "") + nl + filler() + spaces()
            elif how == "backslash":
                out += " \\" + nl + spaces()
            elif how == "none" and not (_WORDLIKE.match(str(tok)[-1]) and _WORDLIKE.match(str(nxt)[0])):
                pass
            else:
                out += spaces()
        out += (spaces() + comment() if draw(st.booleans()) else "") + nl + filler()
    if draw(st.booleans()):
        out = out.rstrip("\r\n")
    return base, out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(commented_specs())
def test_generated_specs_keep_comments_and_meaning_and_fmt_is_idempotent(case) -> None:
    base, text = case
    assert parse(text) == parse(base)  # the generator kept the spec
    formatted = format_text(text)
    assert format_text(formatted) == formatted
    assert lark_comments(formatted) == lark_comments(text)
    assert_same_meaning(text, formatted)


# ---- the command --------------------------------------------------------------------------------
UGLY = "model  m\ndata mnist   # the data\nout = image|conv(10,1)|gap|softmax\n"
PRETTY = "model m\ndata mnist  # the data\nout = image | conv(10, 1) | gap | softmax\n"


def _spec(tmp_path, text: str = UGLY, name: str = "m.rnn"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_exits_1_with_a_diff_and_rewrites_nothing(tmp_path, capsys) -> None:
    ugly, pretty = _spec(tmp_path), _spec(tmp_path, PRETTY, "p.rnn")
    assert main(["fmt", "--check", str(ugly), str(pretty)]) == 1
    captured = capsys.readouterr()
    assert ugly.read_text() == UGLY
    assert captured.out.startswith(f"--- {ugly}\n+++ {ugly} (formatted)\n@@ ")
    assert "\n-model  m\n" in captured.out and "\n+model m\n" in captured.out and "p.rnn" not in captured.out
    assert f"would reformat {ugly}" in captured.err
    assert main(["fmt", "--check", str(pretty)]) == 0
    assert capsys.readouterr().out == ""


def test_check_diff_marks_a_missing_final_newline(tmp_path, capsys) -> None:
    path = _spec(tmp_path, "model m")
    assert main(["fmt", "--check", str(path)]) == 1
    assert "-model m\n\\ No newline at end of file\n+model m\n" in capsys.readouterr().out


def test_fmt_rewrites_in_place_keeping_the_mode(tmp_path, capsys) -> None:
    path = _spec(tmp_path)
    os.chmod(path, 0o640)
    assert main(["fmt", str(path)]) == 0
    assert path.read_text() == PRETTY
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["m.rnn"]  # no temporary file left behind
    assert f"reformatted {path}" in capsys.readouterr().err
    before = os.stat(path).st_mtime_ns
    assert main(["fmt", str(path)]) == 0  # already formatted: not written again
    assert os.stat(path).st_mtime_ns == before


def test_fmt_follows_a_symlink_and_keeps_it(tmp_path) -> None:
    target = _spec(tmp_path)
    link = tmp_path / "link.rnn"
    link.symlink_to(target.name)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and target.read_text() == PRETTY


def test_stdin_to_stdout(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(UGLY.encode())))
    assert main(["fmt", "-"]) == 0
    assert capsys.readouterr().out == PRETTY
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(UGLY.encode())))
    assert main(["fmt", "--check", "-"]) == 1
    assert capsys.readouterr().out.startswith("--- <stdin>\n+++ <stdin> (formatted)\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"model m\nout = (\n")))
    assert main(["fmt", "-"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "<stdin>:2:8: error: unexpected end of file" in captured.err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"model m\xff\n")))
    assert main(["fmt", "-"]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["fmt", "-", "-"]) == 2


def test_a_syntax_error_leaves_the_file_byte_identical(tmp_path, capsys) -> None:
    raw = b"model   m\r\ndata mnist\r\nout = image | conv(10, 1\r\n# trailing \t\r\n"
    path = tmp_path / "bad.rnn"
    path.write_bytes(raw)
    assert main(["fmt", str(path)]) == 1
    assert path.read_bytes() == raw
    err = capsys.readouterr().err
    assert f"{path}:4:" in err and "error: unexpected" in err
    assert main(["fmt", "--check", str(path)]) == 1
    assert path.read_bytes() == raw and capsys.readouterr().out == ""


def test_read_only_missing_and_directory_exit_2(tmp_path, capsys) -> None:
    path = _spec(tmp_path)
    os.chmod(path, 0o444)
    assert main(["fmt", str(path)]) == 2
    assert path.read_text() == UGLY and "read-only" in capsys.readouterr().err
    assert main(["fmt", "--check", str(path)]) == 1  # --check writes nothing, so read-only is fine
    capsys.readouterr()
    assert main(["fmt", str(tmp_path / "missing.rnn")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["fmt", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    # an unreadable spec does not stop the others
    other = _spec(tmp_path, name="other.rnn")
    assert main(["fmt", str(tmp_path / "missing.rnn"), str(other)]) == 2
    assert other.read_text() == PRETTY
    assert sorted(os.listdir(tmp_path)) == ["m.rnn", "other.rnn"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused(tmp_path, capsys) -> None:
    fifo = tmp_path / "pipe.rnn"
    os.mkfifo(fifo)
    assert main(["fmt", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_fmt_never_imports_tensorflow(tmp_path) -> None:
    path = _spec(tmp_path)
    code = ("import sys; from rnndsl.cli import main; "
            f"rc = main(['fmt', {str(path)!r}]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'tensorflow imported'; "
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == PRETTY
