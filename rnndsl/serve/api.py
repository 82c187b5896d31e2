"""What the playground's endpoints compute, apart from HTTP: check, render, the compile command.

Everything here runs the same code as the command line: `pipeline.analyse` (as `rnndsl check`),
`emit_dot` and `render_bytes` (as `rnndsl render`). Nothing imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import threading
from collections import OrderedDict
from typing import Any

from ..backends.dot import RenderError, emit_dot, render_bytes
from ..checks import Checked
from ..checks.report import rows as table_rows, summary
from ..data import DataArgs, DataError, file_kinds, source_of
from ..errors import Diagnostic, ExitCode, RnndslError, SpecError, render_all
from ..pipeline import Analysed, analyse

__all__ = ["DEFAULT_STEPS", "MAX_DRAWN_STEPS", "check_text", "render_svg", "compile_command", "annotate_svg",
           "drawn_steps", "diagnostic_json", "SpecRejected", "RenderError"]

DEFAULT_STEPS = 12  # a spec with more steps is drawn as its first 12, an ellipsis and the last (typing stays fast)
MAX_DRAWN_STEPS = 64  # the most steps a client may ask to see drawn
_CACHE_SIZE = 8  # analyses kept (a big spec's unrolled graph is large)


class SpecRejected(RnndslError):
    """The spec has errors: the render endpoint answers with its diagnostics."""

    exit_code = ExitCode.SPEC

    def __init__(self, diagnostics: tuple[Diagnostic, ...]):
        super().__init__("the spec has errors")
        self.diagnostics = diagnostics


class _Analyses:
    """The last few analyses by text (one spec is checked once, then rendered in two views).

    A lock serialises the front end: requests come from several server threads at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Analysed | SpecError] = OrderedDict()

    def get(self, text: str) -> Analysed:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                found = self._cache[key]
            else:
                try:
                    found = analyse(text)
                except SpecError as err:
                    found = err
                self._cache[key] = found
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        if isinstance(found, SpecError):
            raise found
        return found


_ANALYSES = _Analyses()


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    s = d.span
    return {"severity": d.severity, "code": d.code, "message": d.message, "notes": list(d.notes),
            "line": s.line, "col": s.col, "end_line": s.end_line, "end_col": s.end_col}


def _ordered(diags: tuple[Diagnostic, ...]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: (d.span.line, d.span.col, d.code))


def highlight(text: str) -> list[list]:
    """The syntax colouring of `text` by the Pygments lexer (rnndsl/lsp/lexer.py): [line, from, to, class]
    per token, 1-based lines, 0-based character columns; plain names and whitespace are left out."""
    from ..lsp.lexer import RnnLexer

    out: list[list] = []
    line, col = 1, 0
    for _, token, value in RnnLexer().get_tokens_unprocessed(text):
        cls = _TOKEN_CLASS.get(token) or next((c for t, c in _TOKEN_CLASS.items() if token in t), "")
        for i, part in enumerate(value.split("\n")):
            if i:
                line, col = line + 1, 0
            if part and cls:
                out.append([line, col, col + len(part), cls])
            col += len(part)
    return out


def _token_classes() -> dict:
    from pygments.token import Comment, Keyword, Name, Number, Operator, String

    return {Comment: "c", Keyword.Declaration: "kd", Keyword.Pseudo: "kp", Keyword: "k", String: "s",
            Number: "n", Name.Builtin: "b", Name.Class: "nc", Name.Decorator: "nd", Name.Constant: "no",
            Operator: "o"}


_TOKEN_CLASS = _token_classes()


def check_text(text: str, filename: str = "spec.rnn") -> dict[str, Any]:
    """The `rnndsl check` of `text`: diagnostics (with line and column), the report, the parameter table, and
    the syntax colouring."""
    result = _check(text, filename)
    result["tokens"] = highlight(text)
    return result


def _check(text: str, filename: str) -> dict[str, Any]:
    try:
        checked = _ANALYSES.get(text).checked
    except SpecError as err:
        diags = _ordered(err.diagnostics)
        return {"ok": False, "diagnostics": [diagnostic_json(d) for d in diags],
                "report": render_all(diags, text, filename), "rows": [], "total_params": None, "total_flops": None}
    p = checked.program
    report = summary(checked)
    if checked.warnings:
        report += "\n\n" + render_all(_ordered(checked.warnings), text, filename)
    rows = [{"name": r[0].strip(), "op": r[0].startswith("  "), "kind": r[1], "shape": r[2], "steps": r[3],
             "params": r[4], "flops": r[5]} for r in table_rows(checked)]
    return {"ok": True, "diagnostics": [diagnostic_json(d) for d in _ordered(checked.warnings)], "report": report,
            "rows": rows, "total_params": checked.total_params, "total_flops": checked.total_flops,
            "name": p.name, "steps": p.steps, "streams": list(p.streams), "data": p.data,
            "inputs": [i.name for i in p.inputs]}


def drawn_steps(checked: Checked, steps: int | None) -> int | None:
    """How many steps to draw: what was asked (at most MAX_DRAWN_STEPS), else all up to DEFAULT_STEPS."""
    total = checked.program.steps
    want = DEFAULT_STEPS if steps is None else max(1, min(int(steps), MAX_DRAWN_STEPS))
    return None if want >= total else want


def render_svg(text: str, view: str, steps: int | None = None, shapes: bool = False) -> bytes:
    """The SVG `rnndsl render --view VIEW --steps N` draws, each node's <title> its tooltip (what it is, its shape).

    Raises SpecRejected for a spec with errors, RenderError when Graphviz is missing or fails."""
    if view not in ("unrolled", "folded"):
        raise ValueError("view must be 'unrolled' or 'folded'")
    try:
        checked = _ANALYSES.get(text).checked
    except SpecError as err:
        raise SpecRejected(tuple(_ordered(err.diagnostics))) from None
    dot = emit_dot(checked, view=view, shapes=shapes, max_steps=drawn_steps(checked, steps))
    return annotate_svg(render_bytes(dot, "svg"))


# A node's or an edge's <title> (Graphviz writes its DOT id), then the tooltip the DOT backend gave it
_TITLED = re.compile(rb'(<g id="[^"]*" class="(?:node|edge)">\s*<title>)(.*?)(</title>\s*<g id="[^"]*">'
                     rb'<a\b[^>]*?\sxlink:title=")([^"]*)(")', re.S)


def annotate_svg(svg: bytes) -> bytes:
    """Make every node's and edge's <title> (its DOT id, `h@3`) the tooltip the DOT backend wrote for it
    (`h[3]: stream, shape (64,)`), which the page shows on hover."""
    return _TITLED.sub(lambda m: m.group(1) + m.group(4) + m.group(3) + m.group(4) + m.group(5), svg)


def compile_command(text: str, spec_path: str | None, dirty: bool, data: str = "", data_dir: str = "",
                    epochs: int | None = None) -> dict[str, Any]:
    """The `rnndsl compile SPEC --train ...` line for the spec, every argument shell-quoted, and notes on it."""
    notes: list[str] = []
    try:
        program = _ANALYSES.get(text).checked.program
    except SpecError:
        program = None
        notes.append("the spec has errors: `rnndsl compile` will refuse it until they are fixed")
    spec = spec_path or "spec.rnn"
    if spec_path is None:
        notes.append("the editor's text is not a file: save it as spec.rnn first")
    elif dirty:
        notes.append(f"the editor has unsaved changes: save them, or the command trains {spec_path} as it is on disk")
    words = ["rnndsl", "compile", spec, "--train"]
    given = DataArgs(data.strip() or None, data_dir.strip() or None)
    builtin = program.data if program is not None else None
    if program is not None and given.data is None and builtin is None:
        words += ["--data", "DATA_FILE"]
        notes.append(f"replace DATA_FILE with your {file_kinds()} file (docs/data.md)")
    elif program is not None:
        try:  # the rules `rnndsl compile` applies before it reads anything (data.sources)
            source_of(given, builtin)
        except DataError as err:
            notes.append(str(err))
    words += given.words()
    if epochs is not None:
        words += ["--epochs", str(int(epochs))]
    return {"command": " ".join(shlex.quote(w) for w in words), "notes": notes}

