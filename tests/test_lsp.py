"""`rnndsl lsp`: a real client speaks JSON-RPC (Content-Length framing) to the server over stdio.

One server process serves the protocol tests (each on its own document); the lifecycle test
starts its own to check shutdown and exit.  Every wait has a timeout, so a hang fails the test
instead of blocking the suite.  The pure features (no protocol) and the Pygments lexer are
tested directly.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import ROOT

TIMEOUT = 10.0  # seconds for any one answer (the server answers in milliseconds; a start takes about 1 s)

BROKEN = """model typed
data mnist
steps 4
x[t] = image | gaussian_noise(0.1)
h[t] = tanh(convv(x[t], 8, 3) + conv(h[t-1], 8, 1))
out = h[last] | conv(10, 1) | gap | softmax
"""
FIXED = BROKEN.replace("convv(", "conv(")

SEQUENCE = """model seq
input x[t]: (12,)
target y: class(9)
param u: (64,) init=uniform(1)
layer K = dense(64) | relu
h[t] = tanh(dense(x[t], 64) + u * h[t-1])   # the recurrence
g[t] = K(h[t-2]) when t > 1
g[t] = h[t]      otherwise
y = g[last] | dense(9)
"""


class LspClient:
    """A minimal LSP client: a subprocess, Content-Length framing, requests with ids, notifications kept."""

    def __init__(self, cmd: list[str]):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, env=env)
        self.messages: queue.Queue[dict | None] = queue.Queue()
        self.notifications: list[dict] = []
        self.stderr: list[bytes] = []
        self._id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                assert length is not None, "a message without Content-Length"
                self.messages.put(json.loads(out.read(length)))
        finally:
            self.messages.put(None)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params} if params is not None else {"method": method})

    def _next(self, deadline: float) -> dict:
        try:
            msg = self.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no answer within {TIMEOUT} s; server stderr:\n{self.log}") from None
        if msg is None:
            raise AssertionError(f"the server closed its output; stderr:\n{self.log}")
        if "method" in msg and "id" in msg:  # a request from the server (none expected): answer it
            self.send({"id": msg["id"], "result": None})
        elif "method" in msg:
            self.notifications.append(msg)
        return msg

    def request(self, method: str, params: Any = None) -> Any:
        self._id += 1
        ident = self._id
        self.send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self._next(deadline)
            if msg.get("id") == ident and "method" not in msg:
                assert "error" not in msg, msg["error"]
                return msg.get("result")

    def wait_for(self, method: str, where: Callable[[dict], bool] = lambda p: True) -> dict:
        """The first notification `method` whose params satisfy `where` (already received or next)."""
        for msg in self.notifications:
            if msg["method"] == method and where(msg["params"]):
                self.notifications.remove(msg)
                return msg["params"]
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self._next(deadline)
            if msg.get("method") == method and where(msg["params"]):
                self.notifications.remove(msg)
                return msg["params"]

    @property
    def log(self) -> str:
        return b"".join(self.stderr).decode("utf-8", "replace")[-4000:]

    # ---- protocol steps ---------------------------------------------------------------------
    def initialize(self) -> dict:
        result = self.request("initialize", {"processId": os.getpid(), "rootUri": ROOT.as_uri(),
                                             "capabilities": {}})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str) -> dict:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "rnn", "version": 1,
                                                              "text": text}})
        return self.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)

    def at(self, method: str, uri: str, line: int, character: int, **extra: Any) -> Any:
        return self.request(method, {"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
                                     **extra})

    def stop(self) -> int:
        """shutdown, exit; the process's exit code."""
        assert self.request("shutdown") is None
        self.notify("exit")
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


SERVER = [sys.executable, "-m", "rnndsl", "lsp"]


@pytest.fixture(scope="module")
def client():
    c = LspClient(SERVER)
    try:
        c.initialize()
        yield c
    finally:
        c.close()


def _col(text: str, line: int, needle: str, occurrence: int = 0) -> int:
    row = text.split("\n")[line]
    at = -1
    for _ in range(occurrence + 1):
        at = row.index(needle, at + 1)
    return at


# ---- the protocol ------------------------------------------------------------------------------------
def test_initialize_advertises_the_features() -> None:
    c = LspClient(SERVER)
    try:
        caps = c.initialize()["capabilities"]
        assert caps["hoverProvider"] and caps["definitionProvider"]
        assert "|" in caps["completionProvider"]["triggerCharacters"]
        from rnndsl.lsp.features import find_formatter

        assert bool(caps.get("documentFormattingProvider")) == (find_formatter() is not None)
        assert c.stop() == 0
    finally:
        c.close()


def test_diagnostics_of_an_unknown_layer_point_at_its_name(client: LspClient) -> None:
    uri = "file:///tmp/lsp-broken.rnn"
    published = client.open(uri, BROKEN)
    [d] = published["diagnostics"]
    start = _col(BROKEN, 4, "convv")
    assert d["range"] == {"start": {"line": 4, "character": start}, "end": {"line": 4, "character": start + 5}}
    assert d["severity"] == 1 and d["code"] == "unknown-layer" and d["source"] == "rnndsl"
    assert "unknown layer 'convv'" in d["message"] and "did you mean 'conv'?" in d["message"]
    # the quick fix replaces the name
    actions = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": d["range"],
                                                         "context": {"diagnostics": [d]}})
    [action] = actions
    [edit] = action["edit"]["changes"][uri]
    assert edit["newText"] == "conv" and edit["range"] == d["range"]


def test_did_change_that_fixes_the_error_publishes_no_diagnostics(client: LspClient) -> None:
    uri = "file:///tmp/lsp-fixing.rnn"
    assert client.open(uri, BROKEN)["diagnostics"]
    start = _col(BROKEN, 4, "convv")
    client.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": 4, "character": start + 4},
                                      "end": {"line": 4, "character": start + 5}}, "text": ""}]})
    published = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    assert published["diagnostics"] == [] and published.get("version") == 2
    # a whole-text change that breaks it again, and a save, publish again
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                             "contentChanges": [{"text": FIXED + "out = image\n"}]})
    [dup] = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)["diagnostics"]
    assert dup["code"] == "duplicate-definition" and dup["range"]["start"]["line"] == 6


def test_warnings_have_warning_severity(client: LspClient) -> None:
    uri = "file:///tmp/lsp-warn.rnn"
    text = FIXED + "spare = image | conv(4, 3)\n"
    [d] = client.open(uri, text)["diagnostics"]
    assert d["code"] == "unused" and d["severity"] == 2
    assert d["range"]["start"] == {"line": 6, "character": 0}


def test_a_spec_that_does_not_parse_gets_its_syntax_diagnostic(client: LspClient) -> None:
    uri = "file:///tmp/lsp-syntax.rnn"
    text = "model s\ndata mnist\nout = image | conv(10, 3 | gap\n"
    [d] = client.open(uri, text)["diagnostics"]
    assert d["code"] == "syntax" and d["range"]["start"]["line"] == 2
    # hover and definition still answer from the text
    hover = client.at("textDocument/hover", uri, 2, _col(text, 2, "conv") + 1)
    assert "2-D convolution" in hover["contents"]["value"]
    [loc] = client.at("textDocument/definition", uri, 2, _col(text, 2, "image"))
    assert loc["range"]["start"] == {"line": 1, "character": 5}


def test_hover_on_a_stream_gives_its_shape(client: LspClient) -> None:
    uri = "file:///tmp/lsp-hover.rnn"
    client.open(uri, FIXED)
    hover = client.at("textDocument/hover", uri, 4, 0)
    value = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert "`h[t]`: stream, shape (28, 28, 8), steps 0..3, init zeros" in value
    assert hover["range"] == {"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 1}}


def test_hover_on_a_layer_and_a_read(client: LspClient) -> None:
    uri = "file:///tmp/lsp-hover2.rnn"
    client.open(uri, FIXED)
    value = client.at("textDocument/hover", uri, 4, _col(FIXED, 4, "conv(h") + 2)["contents"]["value"]
    assert "2-D convolution" in value and "filters=8, kernel=1" in value
    assert "parameters: 72 (kernel (1, 1, 8, 8), bias (8,))" in value
    per_step = 2 * 8 * 28 * 28 * 8 + 28 * 28 * 8  # a multiply-add per input channel and output, plus the bias
    assert f"FLOPs per sample: {4 * per_step:,} ({per_step:,} per step × 4 steps)" in value
    value = client.at("textDocument/hover", uri, 4, _col(FIXED, 4, "h[t-1]"))["contents"]["value"]
    assert value.startswith("`h[t-1]`: **same** read")


def test_definition_of_a_stream(client: LspClient) -> None:
    uri = "file:///tmp/lsp-def.rnn"
    client.open(uri, FIXED)
    [loc] = client.at("textDocument/definition", uri, 4, _col(FIXED, 4, "x[t]"))
    assert loc["uri"] == uri
    assert loc["range"] == {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 1}}


def test_completion_offers_kinds_and_a_calls_parameters(client: LspClient) -> None:
    uri = "file:///tmp/lsp-complete.rnn"
    text = "model c\ndata mnist\nx = image | co\ny = image | conv(8, 3, pad\n"
    client.open(uri, text)
    result = client.at("textDocument/completion", uri, 2, len("x = image | co"))
    labels = {i["label"]: i for i in result["items"]}
    assert "conv" in labels and labels["conv"]["detail"].startswith("conv(x, filters, kernel, *, stride=1")
    result = client.at("textDocument/completion", uri, 3, len("y = image | conv(8, 3, pad"))
    labels = {i["label"]: i for i in result["items"]}
    assert "padding" in labels and labels["padding"]["insertText"] == "padding="
    assert "filters" in labels and "conv" not in labels  # in a pipe every argument is a parameter


def test_formatting_through_the_formatter(client: LspClient) -> None:
    from rnndsl.lsp.features import find_formatter

    formatter = find_formatter()
    assert formatter is not None  # rnndsl/syntax/format.py: formatting is advertised
    uri = "file:///tmp/lsp-format.rnn"
    text = "model   f\ndata mnist\nout=image|conv(10,3)|gap\n"
    client.open(uri, text)
    edits = client.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                       "options": {"tabSize": 4, "insertSpaces": True}})
    assert edits and edits[0]["newText"] == formatter(text)


def test_the_server_survives_nonsense(client: LspClient) -> None:
    uri = "file:///tmp/lsp-nonsense.rnn"
    text = "\x00\x01 ((( ]]] é 😋 | | = =\n" * 3
    assert client.open(uri, text)["diagnostics"]
    for line in range(4):
        for ch in (0, 3, 9, 40):
            client.at("textDocument/hover", uri, line, ch)
            client.at("textDocument/definition", uri, line, ch)
            client.at("textDocument/completion", uri, line, ch)
    assert client.proc.poll() is None  # still serving
    assert "stream" in client.at("textDocument/hover", "file:///tmp/lsp-broken.rnn", 4, 0)["contents"]["value"]


def test_shutdown_then_exit_ends_the_process_with_0() -> None:
    c = LspClient(SERVER)
    try:
        c.initialize()
        assert c.stop() == 0
    finally:
        c.close()


def test_exit_without_shutdown_ends_with_1() -> None:
    c = LspClient(SERVER)
    try:
        c.initialize()
        c.notify("exit")
        assert c.proc.wait(timeout=TIMEOUT) == 1
    finally:
        c.close()


def test_positions_are_in_the_clients_utf16_units(client: LspClient) -> None:
    uri = "file:///tmp/lsp-utf16.rnn"
    text = 'model e "😋" oops\ndata mnist\nout = image | gap\n'
    [d] = client.open(uri, text)["diagnostics"]
    assert d["code"] == "syntax"
    assert d["range"]["start"] == {"line": 0, "character": 13}  # 12 code points, the emoji is 2 UTF-16 units
    hover = client.at("textDocument/hover", uri, 0, 14)
    assert hover is None or hover["range"]["start"]["character"] == 13


# ---- the features, without the protocol -----------------------------------------------------------------
from rnndsl.lsp.analysis import analyse_document  # noqa: E402
from rnndsl.lsp.features import completion, definition, diagnostics, hover, signature  # noqa: E402
from rnndsl.lsp.text import Position  # noqa: E402

READS = """model reads
data mnist
steps 6
x[t] = image | row | flatten
a[t] = tanh(dense(x[t], 16) + dense(a[t-1], 16) + dense(a[t-2], 16))
b[t] = tanh(dense(x[t], 16) + dense(b[t+1], 16) + dense(a[last], 16) + dense(a[t-1], 16))
c[t] = sum(a[0..t])
out = concat(c[last], b[0]) | dense(10) | softmax
"""


def _hover(text: str, line: int, needle: str, occurrence: int = 0) -> str:
    found = hover(analyse_document(text), Position(line, _col(text, line, needle, occurrence)))
    assert found is not None, needle
    return found.markdown


@pytest.mark.parametrize("line,needle,kind", [
    (4, "x[t]", "feed"), (4, "a[t-1]", "same"), (4, "a[t-2]", "lag-k"), (5, "b[t+1]", "reversed"),
    (5, "a[last]", "fixed"), (5, "a[t-1]", "cross"), (6, "a[0..t]", "window"), (7, "c[last]", "feed"),
])
def test_hover_on_a_read_names_its_edge_kind(line: int, needle: str, kind: str) -> None:
    assert _hover(READS, line, needle).startswith(f"`{needle}`: **{kind}** read")


def test_edge_kinds_from_the_text_alone_match_the_graph() -> None:
    """A spec that does not parse still gets the edge kind of a read, from its text."""
    broken = READS + "oops = (\n"
    for line, needle, kind in [(4, "a[t-1]", "same"), (4, "a[t-2]", "lag-k"), (5, "b[t+1]", "reversed"),
                               (5, "a[t-1]", "cross"), (6, "a[0..t]", "window"), (5, "a[last]", "fixed")]:
        assert _hover(broken, line, needle).startswith(f"`{needle}`: **{kind}** read"), needle


def test_hover_on_params_inputs_named_layers_and_targets() -> None:
    assert _hover(SEQUENCE, 3, "u") == "`u`: param, shape (64,), init uniform(1), 64 parameters"
    assert "`x[t]`: input, a sequence, shape (12,)" in _hover(SEQUENCE, 1, "x")
    named = _hover(SEQUENCE, 6, "K(")
    assert "named layer `K = dense(64) | relu`" in named and "parameters: 4,160" in named
    assert "stage 1 of the named layer `K`" in _hover(SEQUENCE, 4, "dense")
    assert "trained against the target `y`: class(9)" in _hover(SEQUENCE, 8, "y")
    assert "steps from the data" in _hover(SEQUENCE, 5, "h")
    assert "padding" in _hover("model p\ndata mnist\nout = image | conv(10, 3, padding=valid) | gap\n", 2, "padding")


def test_definition_of_every_kind_of_name() -> None:
    an = analyse_document(SEQUENCE)

    def lines_of(line: int, needle: str, occurrence: int = 0) -> list[int]:
        return [r.start.line for r in definition(an, Position(line, _col(SEQUENCE, line, needle, occurrence)))]

    assert lines_of(8, "g[last]") == [6, 7]  # both equations of a guarded stream
    assert lines_of(5, "u *") == [3]  # a param
    assert lines_of(5, "x[t]") == [1]  # an input declaration
    assert lines_of(6, "K(") == [4]  # a named layer
    assert lines_of(2, "y") == [8]  # a target's value
    assert lines_of(8, "dense") == []  # a layer kind has no definition in the spec


def test_completion_contexts() -> None:
    def labels(text: str) -> set[str]:
        lines = text.split("\n")
        return {c.label for c in completion(analyse_document(text), Position(len(lines) - 1, len(lines[-1])))}

    head = "model c\ndata mnist\nsteps 2\nlayer K = conv(4, 3)\nh[t] = image\n"
    assert {"conv", "gru", "K", "h", "image"} <= labels(head + "x = image + ")
    assert {"same", "valid"} == labels(head + "x = image | conv(8, 3, padding=")
    assert {"true", "false"} == labels(head + "x = image | conv(8, 3, bias=")
    assert {"filters", "kernel", "stride"} <= labels(head + "x = conv(image, 8, 3, ")
    assert "padding" not in labels(head + "x = conv(image, 8, 3, padding=same, ")
    assert {"mnist", "cifar10"} == labels("model c\ndata ")
    assert {"t", "last"} == labels(head + "x = h[")
    assert {"optimizer", "batch", "epochs"} <= labels(head + "out = image\ntrain { ")
    assert {"adam", "sgd", "rmsprop"} == labels(head + "out = image\ntrain { optimizer ")
    assert {"lr", "beta1"} <= labels(head + "out = image\ntrain { optimizer adam(")
    assert {"zeros", "learned", "none"} <= labels(head + "init h = ")
    assert {"model", "layer", "steps"} <= labels(head)


def test_signature_of_a_kind() -> None:
    from rnndsl.catalogue import KINDS

    assert signature(KINDS["conv"]) == ("conv(x, filters, kernel, *, stride=1, padding=same, dilation=1, bias=true, "
                                        "init=glorot)")
    assert signature(KINDS["concat"]) == "concat(a, b, ..., *, axis=-1)"


def _all_specs() -> list[Path]:
    return sorted((ROOT / "specs").rglob("*.rnn"))


def test_every_spec_checks_clean_and_every_position_answers() -> None:
    """Hover, definition and completion at every token of every spec: no exception, and every name
    that is a stream, value, param or input has a definition."""
    started = time.monotonic()
    for path in _all_specs():
        text = path.read_text()
        an = analyse_document(text)
        assert not [d for d in diagnostics(an) if d.severity == "error"], path
        for tok in an.index.tokens:
            pos = tok.start_pos
            hover(an, pos)
            completion(an, tok.end_pos)
            found = definition(an, pos)
            if tok.type == "NAME" and tok.text in an.index.definitions and an.index.next(tok) is not None \
                    and not an.index.next(tok).is_op("=", "("):
                assert found, (path, tok.text, pos)
    assert time.monotonic() - started < 30


def _key(d) -> tuple:
    return (d.span, d.severity, d.code, d.message, d.notes, d.suggestion)


def test_the_server_reports_what_check_reports() -> None:
    """The language server runs the rules through checks.run_rules, as `rnndsl check` does: the same
    diagnostics for every spec and every spec of tests/errors."""
    from rnndsl.pipeline import diagnostics_of

    for path in _all_specs() + sorted((ROOT / "tests" / "errors").glob("*.rnn")):
        text = path.read_text()
        assert sorted(map(_key, analyse_document(text).diagnostics)) == sorted(map(_key, diagnostics_of(text))), path


def test_a_rule_added_to_the_checks_reaches_the_server_and_a_failing_one_keeps_the_facts(monkeypatch) -> None:
    from rnndsl import checks
    from rnndsl.errors import Diagnostic
    from rnndsl.pipeline import diagnostics_of

    def extra(program, facts, found):
        return facts, (Diagnostic("test-rule", "seen by every caller of the checks", severity="warning"),)

    monkeypatch.setattr(checks, "RULES", checks.RULES + (extra,))
    assert "test-rule" in [d.code for d in diagnostics_of(FIXED)]
    assert "test-rule" in [d.code for d in analyse_document(FIXED).diagnostics]

    def broken(program, facts, found):
        raise KeyError("a bug")

    monkeypatch.setattr(checks, "RULES", checks.RULES[:2] + (broken,))  # after the shapes
    an = analyse_document(FIXED)
    [internal] = [d for d in an.diagnostics if d.code == "internal"]
    assert "check broken: KeyError" in internal.message
    assert an.facts.shapes.get("h") == (28, 28, 8)  # what the rules before it inferred is kept


QUICK = """model quick
data mnist
steps 4
defaults bias=false
layer H = conv(8, 1, init=normal(0.1))
h[t] = tanh(conv(image, 8, 3, padding=same) + H(h[t-1]))
init h = zeros
out = h[last] | conv(10, 1) | gap | softmax
train { optimizer adam(lr=0.01)  epochs 2 }
"""


@pytest.mark.parametrize("right,wrong", [
    ("conv(image", "convv(image"),  # unknown layer
    ("H(h[t-1])", "H(hh[t-1])"),  # unknown stream
    ("padding=same", "paddin=same"),  # unknown parameter
    ("normal(0.1)", "normall(0.1)"),  # unknown initialiser
    ("data mnist", "data mnistt"),  # unknown dataset: the range is the whole statement
    ("init h = zeros", "init h = zeross"),  # unknown initial state
    ("init h =", "init hx ="),  # init of a stream that does not exist
    ("optimizer adam(", "optimizer adamm("),  # unknown optimizer
    ("epochs 2", "epoch 2"),  # unknown train setting
])
def test_a_quick_fix_puts_back_the_name_the_front_end_suggests(right: str, wrong: str) -> None:
    from rnndsl.lsp.features import quick_fix

    broken = QUICK.replace(right, wrong, 1)
    an = analyse_document(broken)
    fixes = [f for f in (quick_fix(d, an) for d in diagnostics(an)) if f is not None]
    assert len(fixes) == 1, [d.message for d in diagnostics(an)]
    where, old, new = fixes[0]
    lines = broken.split("\n")
    line = lines[where.start.line]
    assert line[where.start.col:where.end.col] == old
    lines[where.start.line] = line[:where.start.col] + new + line[where.end.col:]
    assert "\n".join(lines) == QUICK


def test_a_quick_fix_reads_the_suggestion_not_the_message() -> None:
    from rnndsl.lsp.features import LspDiagnostic, quick_fix

    an = analyse_document(BROKEN)
    [d] = diagnostics(an)
    assert d.suggestion == "conv"
    assert "did you mean 'conv'?" in d.message
    assert quick_fix(LspDiagnostic(d.range, d.severity, d.code, d.message), an) is None  # the text alone: no fix
    assert quick_fix(LspDiagnostic(d.range, d.severity, d.code, "unknown layer", "conv"), an)[1:] == ("convv", "conv")


def test_every_prefix_of_a_spec_is_answered() -> None:
    """Half-typed text (every cut of a spec at each line and mid-line) never makes a feature raise."""
    text = (ROOT / "specs" / "mix.rnn").read_text()
    cuts = sorted({i for i, ch in enumerate(text) if ch == "\n"} | set(range(0, len(text), 97)))
    for cut in cuts:
        part = text[:cut]
        an = analyse_document(part)
        lines = part.split("\n")
        end = Position(len(lines) - 1, len(lines[-1]))
        diagnostics(an)
        hover(an, end)
        completion(an, end)
        definition(an, end)


# ---- the Pygments lexer ---------------------------------------------------------------------------------
def test_the_lexer_tokenizes_every_spec_without_errors() -> None:
    from pygments.token import Error

    from rnndsl.lsp.lexer import RnnLexer

    lexer = RnnLexer()
    assert lexer.aliases == ["rnn", "rnndsl"] and lexer.filenames == ["*.rnn"]
    paths = _all_specs() + sorted((ROOT / "tests" / "errors").glob("*.rnn"))
    for path in paths:
        text = path.read_text()
        tokens = list(lexer.get_tokens(text))
        assert not [t for t in tokens if t[0] in Error], path
        assert "".join(v for _, v in tokens).rstrip("\n") == text.rstrip("\n")  # every character is in a token


def _highlighted_texts() -> list[tuple[str, str]]:
    """Every spec of specs/ and tests/errors, and every ```rnn block of the docs."""
    import re

    texts = [(str(p.relative_to(ROOT)), p.read_text()) for p in _all_specs()
             + sorted((ROOT / "tests" / "errors").glob("*.rnn"))]
    for md in sorted((ROOT / "docs").glob("*.md")):
        blocks = re.findall(r"```rnn\n(.*?)```", md.read_text(encoding="utf-8"), flags=re.S)
        texts += [(f"{md.name} block {i}", block) for i, block in enumerate(blocks)]
    return texts


@pytest.mark.parametrize("name,text", _highlighted_texts(), ids=[n for n, _ in _highlighted_texts()])
def test_the_pygments_lexer_cuts_the_text_as_the_token_stream_does(name: str, text: str) -> None:
    """The Pygments lexer is regexes of its own: it must find the tokens of syntax/tokens.py (made from the
    grammar) at the same places, of the same class, and call exactly the grammar's keywords keywords (where
    the grammar takes a keyword as a name, a keyword argument `init=...` or a model's name, either is right)."""
    from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String, Whitespace

    from rnndsl.lsp.lexer import RnnLexer
    from rnndsl.syntax.tokens import tokens

    classes = {"NAME": (Name, Keyword), "NUMBER": (Number,), "STRING": (String,), "MODE": (Name.Decorator,),
               "OP": (Operator, Punctuation), "COMMENT": (Comment,), "ERROR": (Error,)}
    mine = [t for t in tokens(text) if t.type not in ("WS", "NL", "CONT")]
    theirs = [(offset, offset + len(value), kind) for offset, kind, value in RnnLexer().get_tokens_unprocessed(text)
              if kind not in Whitespace]
    assert [(t.offset, t.end) for t in mine] == [(a, b) for a, b, _ in theirs]
    significant = [t for t in mine if t.type != "COMMENT"]
    as_name = {t.offset for prev, t, nxt in zip([None, *significant], significant, [*significant[1:], None])
               if (nxt is not None and nxt.text == "=") or (prev is not None and prev.terminal == "MODEL")}
    for t, (_, _, kind) in zip(mine, theirs):
        assert any(kind in c for c in classes[t.type]), (t, kind)
        if t.type == "NAME" and t.offset not in as_name:
            keyword = kind in Keyword and kind not in Keyword.Constant  # true and false are names to the grammar
            assert keyword == (t.terminal != "NAME"), (t, kind)


def test_the_lexers_keywords_are_the_grammars() -> None:
    from pygments.token import Keyword, Name

    from rnndsl.lsp.lexer import KEYWORDS, RnnLexer
    from rnndsl.syntax import KEYWORDS as GRAMMAR

    assert set(KEYWORDS) == set(GRAMMAR)
    kinds = dict((v, t) for t, v in RnnLexer().get_tokens("x = image | conv(8, 3) | elu @train\n"))
    assert kinds["conv"] in Name.Builtin and kinds["@train"] in Name.Decorator
    assert dict((v, t) for t, v in RnnLexer().get_tokens("h[t] = x when t > 0\n"))["when"] in Keyword


def test_the_server_loads_no_tensorflow() -> None:
    code = ("import sys, rnndsl.lsp.server, rnndsl.lsp.lexer, rnndsl.cli.lsp\n"
            "rnndsl.lsp.server.build_server()\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'matplotlib')]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
