"""`rnndsl serve`: the playground's API over HTTP (urllib against a real server) and its page in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from rnndsl.cli import main
from rnndsl.limits import MAX_SPEC_BYTES
from rnndsl.serve import MAX_BODY, make_server

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed")
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/serve-shots")

TINY = """model tiny "A tiny conv-RNN"
data mnist
steps 3
layer H = conv(4, 1)
h[t] = tanh(conv(image, 4, 3) + H(h[t-1]))
out = h[last] | conv(10, 1) | gap | softmax
"""
TYPO = TINY.replace("H(h[t-1])", "H(hiden[t-1])")
TYPO_COL = TYPO.splitlines()[4].index("hiden") + 1  # 1-based, as the checker counts


class Served:
    """A playground server on a free port, in a thread."""

    def __init__(self, folder: Path | None, read_only: bool = False):
        self.server = make_server(folder, port=0, read_only=read_only)
        self.port = self.server.port
        self.url = self.server.url
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body bytes) of one request, error statuses included."""
        req = urllib.request.Request(self.url.rstrip("/") + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def post(self, path: str, obj: object, headers: dict | None = None):
        return self.request("POST", path, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    def raw(self, data: bytes) -> bytes:
        """Send bytes as they are (a request urllib would not write) and read the whole answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(data)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    (root / "sub").mkdir(parents=True)
    (root / "tiny.rnn").write_text(TINY, encoding="utf-8")
    (root / "sub" / "vanilla.rnn").write_text((ROOT / "specs" / "vanilla.rnn").read_text(encoding="utf-8"))
    (tmp_path / "secret.rnn").write_text("model secret\n", encoding="utf-8")
    (root / "notes.txt").write_text("not a spec\n", encoding="utf-8")
    return root


@pytest.fixture
def served(folder: Path):
    s = Served(folder)
    yield s
    s.close()


# ---- the API


def test_it_binds_to_127_0_0_1_only(served: Served) -> None:
    assert served.server.server_address[0] == "127.0.0.1"
    assert served.url.startswith("http://127.0.0.1:")


def test_the_start_opens_the_first_spec_of_the_folder(served: Served) -> None:
    status, headers, body = served.request("GET", "/api/start")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    start = json.loads(body)
    assert start["path"] == "tiny.rnn" and start["text"] == TINY
    assert start["files"] == ["tiny.rnn", "sub/vanilla.rnn"]  # no .txt, nothing outside
    assert start["read_only"] is False


def test_without_a_folder_the_page_starts_from_the_example() -> None:
    s = Served(None)
    try:
        start = json.loads(s.request("GET", "/api/start")[2])
        assert start["path"] is None and start["files"] == [] and start["read_only"] is True
        result = json.loads(s.post("/api/check", {"text": start["text"]})[2])
        assert result["ok"], result["report"]
        assert s.post("/api/save", {"path": "x.rnn", "text": "x"})[0] == 403
    finally:
        s.close()


def test_check_gives_each_diagnostic_its_line_and_column(served: Served) -> None:
    status, _, body = served.post("/api/check", {"text": TYPO})
    assert status == 200
    result = json.loads(body)
    assert result["ok"] is False and result["rows"] == []
    [d] = result["diagnostics"]
    assert (d["severity"], d["code"], d["message"]) == ("error", "unknown-name", "unknown stream 'hiden'")
    assert (d["line"], d["col"], d["end_line"]) == (5, TYPO_COL, 5)
    assert d["notes"] == ["did you mean 'h'?"]
    assert "spec.rnn:5:%d: error: unknown stream 'hiden'" % TYPO_COL in result["report"]  # what `rnndsl check` prints


def test_check_gives_the_report_and_the_parameter_table(served: Served) -> None:
    result = json.loads(served.post("/api/check", {"text": TINY})[2])
    assert result["ok"] and result["diagnostics"] == []
    assert result["total_params"] == 110 and "total: 110 parameters" in result["report"]
    rows = {r["name"]: r for r in result["rows"]}
    assert rows["h"]["kind"] == "stream" and rows["h"]["shape"] == "(28, 28, 4)"
    assert rows["h.conv"]["params"] == "40" and rows["h.conv"]["op"] is True
    assert rows["out.conv"]["flops"] != "-"


def test_warnings_come_with_an_ok_check(served: Served) -> None:
    text = TINY + "g[t] = tanh(H(h[t]) + conv(g[t-1], 4, 1))\n"
    result = json.loads(served.post("/api/check", {"text": text})[2])
    assert result["ok"] and [d["severity"] for d in result["diagnostics"]] == ["warning"]
    assert result["diagnostics"][0]["line"] == 7


@needs_dot
@pytest.mark.parametrize("view", ["unrolled", "folded"])
def test_render_returns_the_svg_with_shapes_in_the_node_titles(served: Served, view: str) -> None:
    status, headers, body = served.post("/api/render", {"text": TINY, "view": view})
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    svg = body.decode()
    assert svg.startswith("<?xml") and "<svg" in svg
    node = "h[2]: stream, shape (28, 28, 4)" if view == "unrolled" else "h: stream, shape (28, 28, 4)"
    assert f"<title>{node}</title>" in svg
    assert "<title>image: input, shape (28, 28, 1)</title>" in svg


@needs_dot
def test_render_draws_what_rnndsl_render_draws(served: Served, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.rnn"
    spec.write_text(TINY, encoding="utf-8")
    assert main(["render", str(spec), "--view", "folded", "-o", str(tmp_path / "cli.svg")]) == 0
    cli = (tmp_path / "cli.svg").read_text(encoding="utf-8")
    served_svg = served.post("/api/render", {"text": TINY, "view": "folded"})[2].decode()
    strip = re.compile(r"<title>.*?</title>", re.S)
    assert strip.sub("", served_svg) == strip.sub("", cli)  # the same drawing; only the tooltips differ


@needs_dot
def test_render_caps_the_steps_drawn(served: Served) -> None:
    long = TINY.replace("steps 3", "steps 40")
    svg = served.post("/api/render", {"text": long, "view": "unrolled"})[2].decode()
    assert "<title>h[11]: stream" in svg and "<title>h[39]: stream" in svg
    assert "<title>h[12]: stream" not in svg and "<title>h[20]: stream" not in svg  # 12 steps, ..., the last
    svg = served.post("/api/render", {"text": long, "view": "unrolled", "steps": 3})[2].decode()
    assert "<title>h[2]: stream" in svg and "<title>h[3]: stream" not in svg
    assert served.post("/api/render", {"text": long, "view": "unrolled", "steps": 10_000})[0] == 400


_GROUP = re.compile(r'<g id="[^"]*" class="(node|edge)">\s*<title>(.*?)</title>\s*(<g id="[^"]*"><a xlink:title="([^"]*)")?',
                    re.S)


@needs_dot
@pytest.mark.parametrize("view", ["unrolled", "folded"])
def test_every_node_and_edge_has_the_tooltip_the_backend_wrote(served: Served, view: str) -> None:
    """The DOT backend writes each tooltip; the playground's <title> is that text, never a DOT id (h@3)."""
    long = TINY.replace("steps 3", "steps 40")
    svg = served.post("/api/render", {"text": long, "view": view, "shapes": True})[2].decode()
    groups = _GROUP.findall(svg)
    assert len(groups) == svg.count('class="node"') + svg.count('class="edge"') > 5
    for kind, title, _, tooltip in groups:
        assert tooltip and title == tooltip, (kind, title)
        assert "@" not in title and "&#45;&gt;" not in title
    if view == "unrolled":
        assert "<title>h[12..38]: steps not drawn</title>" in svg
        assert "<title>h before step 0: initial state (zeros), shape (28, 28, 4)</title>" in svg
        assert "<title>h (initial state) \u2192 h[0]: same stream, t&#45;1</title>" in svg  # (Graphviz writes - as &#45;)


@needs_dot
def test_the_nodes_past_a_window_get_their_tooltips() -> None:
    """`h@later` (the steps after a window) and `h@...` (before it) are named, not left as DOT ids."""
    from rnndsl.backends.dot import emit_dot, render_bytes
    from rnndsl.pipeline import compile_text
    from rnndsl.serve.api import annotate_svg

    dot = emit_dot(compile_text(TINY.replace("steps 3", "steps 40")), window=(5, 9))
    assert '"h@later"' in dot and '"h@..."' in dot
    svg = annotate_svg(render_bytes(dot, "svg")).decode()
    assert "<title>h[10..39]: steps not drawn</title>" in svg and "<title>h[0..4]: steps not drawn</title>" in svg
    assert "<title>h[9] \u2192 h[10..39]: steps not drawn</title>" in svg
    assert all("@" not in title for _, title, _, _ in _GROUP.findall(svg))


def test_render_of_a_bad_spec_is_422_with_its_diagnostics(served: Served) -> None:
    status, _, body = served.post("/api/render", {"text": TYPO, "view": "unrolled"})
    assert status == 422
    assert json.loads(body)["diagnostics"][0]["line"] == 5
    assert served.post("/api/render", {"text": TINY, "view": "sideways"})[0] == 400


@pytest.mark.parametrize("path", [
    "../secret.rnn", "..%2Fsecret.rnn", "sub/../../secret.rnn", "%2Fetc%2Fpasswd", "/etc/passwd",
    "notes.txt", ".hidden.rnn", "sub%5C..%5C..%5Csecret.rnn", "~/secret.rnn", "tiny.rnn%00.txt",
])
def test_a_path_outside_the_folder_or_not_a_spec_is_refused(served: Served, path: str) -> None:
    status, _, body = served.request("GET", "/api/file?path=" + path)
    assert status in (403, 404), (path, status)
    assert b"model secret" not in body and b"not a spec" not in body


def test_a_symlink_that_leads_out_is_refused(served: Served, folder: Path) -> None:
    (folder / "link.rnn").symlink_to(folder.parent / "secret.rnn")
    (folder / "linked").symlink_to(folder.parent)
    for path in ("link.rnn", "linked/secret.rnn"):
        status, _, body = served.request("GET", "/api/file?path=" + path)
        assert status == 403 and b"model secret" not in body
    assert "link.rnn" not in json.loads(served.request("GET", "/api/start")[2])["files"]


def test_a_spec_inside_the_folder_is_served(served: Served) -> None:
    status, _, body = served.request("GET", "/api/file?path=sub/vanilla.rnn")
    assert status == 200 and json.loads(body)["text"].startswith("model vanilla")
    assert served.request("GET", "/api/file?path=missing.rnn")[0] == 404


@pytest.mark.parametrize("path", ["/static/../README.md", "/static/%2e%2e/README.md", "/../../etc/passwd",
                                  "/static/example.rnn", "/static/", "/nothing", "/api/nothing", "/rnndsl/serve/server.py"])
def test_only_the_page_its_assets_and_the_api_are_served(served: Served, path: str) -> None:
    data = served.raw(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode())
    assert data.startswith(b"HTTP/1.0 404"), data[:80]


def test_the_page_and_its_assets(served: Served) -> None:
    status, headers, body = served.request("GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    assert b'src="/static/app.js"' in body and b"<script>" not in body and b"https://" not in body  # no CDN
    assert served.request("GET", "/static/app.js")[1]["Content-Type"].startswith("text/javascript")
    assert served.request("GET", "/static/app.css")[0] == 200
    js = served.request("GET", "/static/app.js")[2]
    assert b"innerHTML" not in js and b"outerHTML" not in js and b"insertAdjacentHTML" not in js


def test_a_body_over_the_limit_is_413(served: Served) -> None:
    big = "#" * (MAX_SPEC_BYTES + 100) + "\n"
    status, _, body = served.post("/api/check", {"text": big})
    assert status == 413 and "at most" in json.loads(body)["error"]
    # a body just under the byte limit whose text is over the spec limit is 413 too
    assert MAX_SPEC_BYTES < len(json.dumps({"text": "a" * (MAX_SPEC_BYTES + 1)})) <= MAX_BODY
    assert served.post("/api/check", {"text": "a" * (MAX_SPEC_BYTES + 1)})[0] == 413
    # a claimed length far over the limit is refused before any of it is read
    head = (f"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10**9}\r\n\r\n").encode()
    assert served.raw(head).startswith(b"HTTP/1.0 413")


@pytest.mark.parametrize("host,expected", [("evil.example", 403), ("evil.example:{port}", 403),
                                           ("127.0.0.1:1", 403), ("127.0.0.1.evil.example:{port}", 403),
                                           ("localhost:{port}", 200), ("127.0.0.1:{port}", 200)])
def test_the_host_header_must_be_this_server(served: Served, host: str, expected: int) -> None:
    host = host.format(port=served.port)
    data = served.raw(f"GET /api/start HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    assert data.startswith(f"HTTP/1.0 {expected}".encode()), data[:80]


def test_a_request_without_a_host_is_400(served: Served) -> None:
    assert served.raw(b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 400")


def test_cross_origin_posts_are_refused(served: Served) -> None:
    assert served.post("/api/check", {"text": TINY}, {"Origin": "http://evil.example"})[0] == 403
    assert served.post("/api/check", {"text": TINY}, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert served.post("/api/check", {"text": TINY}, {"Origin": served.url.rstrip("/")})[0] == 200


def test_the_api_takes_json_only(served: Served) -> None:
    assert served.request("POST", "/api/check", b"text=model", {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert served.request("POST", "/api/check", b"{not json", {"Content-Type": "application/json"})[0] == 400
    assert served.post("/api/check", ["a list"])[0] == 400
    assert served.post("/api/check", {"text": 3})[0] == 400
    assert served.request("GET", "/api/check")[0] == 404
    assert served.request("DELETE", "/api/start")[0] == 501


def test_save_writes_only_a_spec_inside_the_folder(served: Served, folder: Path) -> None:
    edited = TINY.replace("steps 3", "steps 5")
    status, _, body = served.post("/api/save", {"path": "tiny.rnn", "text": edited})
    assert status == 200, body
    assert (folder / "tiny.rnn").read_text(encoding="utf-8") == edited
    for path in ("../secret.rnn", "new.rnn", "notes.txt", "/tmp/x.rnn"):
        assert served.post("/api/save", {"path": path, "text": "model pwned\n"})[0] in (403, 404), path
    assert (folder.parent / "secret.rnn").read_text() == "model secret\n" and not (folder / "new.rnn").exists()
    assert served.post("/api/save", {"path": "tiny.rnn", "text": "x" * (MAX_SPEC_BYTES + 1)})[0] == 413


def test_read_only_never_writes(folder: Path) -> None:
    s = Served(folder, read_only=True)
    try:
        assert s.post("/api/save", {"path": "tiny.rnn", "text": "model x\n"})[0] == 403
        assert (folder / "tiny.rnn").read_text(encoding="utf-8") == TINY
    finally:
        s.close()


def test_the_compile_command(served: Served, folder: Path, monkeypatch) -> None:
    monkeypatch.chdir(folder.parent)
    result = json.loads(served.post("/api/command", {"text": TINY, "path": "tiny.rnn"})[2])
    assert result["command"] == "rnndsl compile specs/tiny.rnn --train"
    assert any("--data-dir" in n for n in result["notes"])
    result = json.loads(served.post("/api/command", {"text": TINY + "\n", "path": "tiny.rnn", "data": "synthetic",
                                                     "epochs": 2})[2])
    assert result["command"] == "rnndsl compile specs/tiny.rnn --train --data synthetic --epochs 2"
    assert any("unsaved" in n for n in result["notes"])
    result = json.loads(served.post("/api/command", {"text": TINY, "data_dir": "my data; rm -rf ~"})[2])
    assert result["command"] == "rnndsl compile spec.rnn --train --data-dir 'my data; rm -rf ~'"  # shell-quoted
    seq = "model s\ninput x[t]: (3,)\ntarget y: class\nh[t] = gru(x[t], 8)\ny = h[last] | dense(4)\n"
    assert "--data DATA_FILE" in json.loads(served.post("/api/command", {"text": seq})[2])["command"]
    assert served.post("/api/command", {"text": TINY, "path": "../secret.rnn"})[0] == 403


def test_serve_is_registered_and_checks_its_folder(tmp_path: Path, capsys) -> None:
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "a.txt").write_text("x")
    assert main(["serve", str(tmp_path / "a.txt")]) == 2
    with pytest.raises(SystemExit):
        main(["serve", "--port", "70000"])


def test_serving_never_imports_tensorflow(folder: Path) -> None:
    code = ("import sys, json, urllib.request, threading\n"
            "from rnndsl.serve import make_server\n"
            f"s = make_server({str(folder)!r}, port=0)\n"
            "threading.Thread(target=s.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()\n"
            "for path, body in [('/api/check', {'text': open(" + repr(str(folder / "tiny.rnn")) + ").read()}),\n"
            "                   ('/api/render', {'text': 'data mnist\\nout = image | conv(10, 3) | gap', 'view': 'folded'})]:\n"
            "    req = urllib.request.Request(s.url + path.lstrip('/'), json.dumps(body).encode(), "
            "{'Content-Type': 'application/json'})\n"
            "    try: urllib.request.urlopen(req).read()\n"
            "    except urllib.error.HTTPError as e: assert e.code == 503, e.code  # no Graphviz\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'matplotlib')]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_static_assets_are_package_data() -> None:
    static = ROOT / "rnndsl" / "serve" / "static"
    assert {p.name for p in static.iterdir()} >= {"index.html", "app.js", "app.css", "example.rnn"}


# ---- the page, in a real browser


def _shown(path: Path) -> str:
    """How the compile command names a spec: relative to the working folder when inside it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _node_count(page, view: str) -> int:
    return page.locator(f"#{view} svg g.node").count()


@needs_dot
def test_the_page_in_a_browser(folder: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser: {CHROMIUM} is missing (`bash run.sh test` installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    s = Served(folder)
    started = time.perf_counter()
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(s.url)
            expect = sync_api.expect
            expect(page.locator("#status")).to_have_text("ok: 110 parameters")
            page.wait_for_selector("#unrolled svg g.node")
            page.wait_for_selector("#folded svg g.node")
            expect(page.locator("#params tbody tr")).to_have_count(len(json.loads(s.post("/api/check", {"text": TINY})[2])["rows"]))
            before_nodes = _node_count(page, "unrolled")
            page.screenshot(path=str(SHOTS / "1-loaded.png"))

            # a wiring error: h reads an unknown stream 'hx' (typed, with real key events)
            editor = page.locator("#source")
            offset = TINY.index("h[t-1]") + 1
            editor.click()
            page.evaluate(f"() => document.getElementById('source').setSelectionRange({offset}, {offset})")
            page.keyboard.type("x")
            col = TINY.splitlines()[4].index("h[t-1]") + 1
            item = page.locator("#diagnostics li.error")
            expect(item).to_have_count(1)
            expect(item.locator(".msg")).to_have_text("unknown stream 'hx'")
            expect(item.locator(".loc")).to_have_text(f"5:{col}")
            expect(page.locator("#caret-diag")).to_contain_text(f"5:{col}: error: unknown stream 'hx'")
            expect(page.locator("#gutter-lines .ln").nth(4)).to_have_class(re.compile(r"\berr\b.*\bcaret\b"))
            expect(page.locator("#backdrop-lines mark")).to_have_text("hx[t-1]")  # the span the checker gives
            # the editor is coloured by the Pygments lexer: statement keywords, layer kinds
            expect(page.locator("#backdrop-lines .tok-kd").first).to_have_text("model")
            assert "conv" in page.locator("#backdrop-lines .tok-b").all_text_contents()
            expect(page.locator("#unrolled")).to_have_class(re.compile(r"\bstale\b"))  # the last good drawing, greyed
            expect(page.locator("#folded")).to_have_class(re.compile(r"\bstale\b"))
            assert _node_count(page, "unrolled") == before_nodes
            page.screenshot(path=str(SHOTS / "2-error.png"))

            # fixed again: the error goes, the drawing comes back
            page.keyboard.press("Backspace")
            expect(page.locator("#diagnostics li.empty")).to_have_text("no problems")
            expect(page.locator("#unrolled")).not_to_have_class(re.compile(r"\bstale\b"))
            expect(page.locator("#caret-diag")).not_to_contain_text("error")

            # a new stream: the unrolled drawing gains a lane of 3 steps
            page.keyboard.press("Control+End")
            page.keyboard.type("g[t] = tanh(H(h[t]) + conv(g[t-1], 4, 1))\n")
            expect(page.locator("#diagnostics li.warning .msg")).to_have_text("stream 'g' is never used by the output")
            page.wait_for_function(f"() => document.querySelectorAll('#unrolled svg g.node').length > {before_nodes}")
            assert page.locator("#unrolled svg g.node[data-tip^='g[2]']").count() == 1
            assert _node_count(page, "unrolled") >= before_nodes + 3

            # hovering a node shows its shape
            page.locator("#unrolled svg g.node[data-tip^='h[1]']").hover()
            tip = page.locator("#tooltip")
            expect(tip).to_be_visible()
            expect(tip).to_have_text("h[1]: stream, shape (28, 28, 4)")
            page.screenshot(path=str(SHOTS / "3-new-stream-hover.png"))
            page.locator("#folded svg g.node[data-tip^='out']").hover()
            expect(tip).to_have_text("out: value, shape (10,)")

            # the compile command, and Save
            page.locator("#data").fill("synthetic")
            page.get_by_role("button", name="Compile command").click()
            command = page.locator("#command")
            expect(command).to_have_value(f"rnndsl compile {_shown(folder / 'tiny.rnn')} --train --data synthetic")
            expect(page.locator("#command-notes")).to_contain_text("unsaved changes")
            page.locator("#save").click()
            expect(page.locator("#status")).to_have_text("saved tiny.rnn")
            assert (folder / "tiny.rnn").read_text(encoding="utf-8") == TINY + "g[t] = tanh(H(h[t]) + conv(g[t-1], 4, 1))\n"
            page.get_by_role("button", name="Compile command").click()
            expect(page.locator("#command-notes")).not_to_contain_text("unsaved")
            page.screenshot(path=str(SHOTS / "4-command.png"), full_page=True)
            assert not errors, errors
            browser.close()
    finally:
        s.close()
    assert time.perf_counter() - started < 20


def test_the_command_serves_until_interrupted(folder: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "rnndsl", "serve", "--port", "0", str(folder)], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "127.0.0.1 only" in line, line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/start", timeout=30) as resp:
            assert json.loads(resp.read())["path"] == "tiny.rnn"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_check_colours_the_text_with_the_pygments_lexer(served: Served) -> None:
    from rnndsl.serve.api import highlight

    text = 'model m "t"   # note\nh[t] = conv(image, 4, 3) when t > 0\n'
    tokens = highlight(text)
    assert [1, 0, 5, "kd"] in tokens  # model
    assert [1, 14, 20, "c"] in tokens  # the comment
    assert [2, 7, 11, "b"] in tokens  # conv: a layer kind
    assert [2, 25, 29, "k"] in tokens  # when
    status, _, body = served.post("/api/check", {"text": text})
    assert status == 200 and json.loads(body)["tokens"] == tokens
