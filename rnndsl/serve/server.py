"""`rnndsl serve`: the playground's HTTP server (the standard library's ThreadingHTTPServer, 127.0.0.1 only).

It answers exactly these requests, and 404 to every other:

    GET  /                    the page (static/index.html)
    GET  /static/app.js       its script, /static/app.css its style sheet
    GET  /api/start           the first spec (from FOLDER, else the embedded example) and the folder's .rnn files
    GET  /api/file?path=P     a .rnn file inside FOLDER
    POST /api/check           {text} -> the diagnostics (line, col), the report, the parameter table
    POST /api/render          {text, view, steps, shapes} -> the SVG `rnndsl render` draws (422 on a spec error)
    POST /api/command         {text, path, data, data_dir, epochs} -> the `rnndsl compile ... --train` line
    POST /api/save            {path, text} -> writes an existing .rnn file inside FOLDER (not with --read-only)

Every request must name 127.0.0.1 or localhost (and the server's port) in its Host header, so a
web page whose domain is rebound to 127.0.0.1 is refused; a POST must be JSON, come from this
origin when it names one, and carry at most MAX_BODY bytes (413 otherwise).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..limits import MAX_SPEC_BYTES
from . import api
from .files import FolderError, SpecFolder

__all__ = ["HOST", "MAX_BODY", "PlaygroundServer", "make_server", "example_text"]

HOST = "127.0.0.1"  # never 0.0.0.0: the playground reads and writes files for whoever reaches it
MAX_BODY = MAX_SPEC_BYTES + 65_536  # a spec of MAX_SPEC_BYTES, JSON-quoted, with room for the other fields
_DRAIN = 16 * 1024 * 1024  # a too-large body up to this size is read and dropped, so the client sees the 413
_ALLOWED_HOSTS = ("127.0.0.1", "localhost")

_STATIC = {  # URL path -> (file in static/, content type); nothing else is served from the package
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}

_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@lru_cache(maxsize=None)
def _asset(name: str) -> bytes:
    return resources.files("rnndsl.serve").joinpath("static", name).read_bytes()


def example_text() -> str:
    """The spec the editor starts with when no folder (or no .rnn in it) is given."""
    return _asset("example.rnn").decode("utf-8")



class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class PlaygroundServer(ThreadingHTTPServer):
    """The playground, bound to 127.0.0.1: `folder` (or None) is the only place files are read from and written to."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, folder: SpecFolder | None = None, initial: str | None = None,
                 read_only: bool = False, quiet: bool = True):
        self.folder = folder
        self.initial = initial
        self.read_only = read_only
        self.quiet = quiet
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"


def make_server(folder: str | os.PathLike | None = None, port: int = 0, read_only: bool = False,
                quiet: bool = True) -> PlaygroundServer:
    """A server for FOLDER (or a .rnn file, whose folder is served and which the editor opens); port 0 picks one."""
    initial = None
    spec_folder = None
    if folder is not None:
        path = Path(folder)
        if path.is_file():
            spec_folder = SpecFolder(path.parent)
            initial = path.resolve().relative_to(spec_folder.root).as_posix()
        else:
            spec_folder = SpecFolder(path)
            initial = spec_folder.first()
    return PlaygroundServer(port, spec_folder, initial, read_only, quiet)


class _Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer
    server_version = "rnndsl-serve"
    sys_version = ""
    timeout = 30  # seconds a connection may stay silent (a slow client cannot hold a thread for ever)

    # ---- plumbing

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    def _headers(self, status: int, ctype: str, length: int, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "max-age=60" if cache else "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self._headers(status, ctype, len(body), cache)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _check_host(self) -> None:
        """DNS rebinding: a page on evil.example rebound to 127.0.0.1 still sends Host: evil.example."""
        host = self.headers.get("Host")
        if not host:
            raise _Refused(400, "a Host header is required")
        name, _, port = host.strip().rpartition(":")
        if not name:
            name, port = port, "80"
        if name.lower() not in _ALLOWED_HOSTS or port != str(self.server.port):
            raise _Refused(403, f"this server answers only to 127.0.0.1:{self.server.port} or localhost:{self.server.port}")

    def _check_origin(self) -> None:
        """Cross-site requests (another site's page posting here) are refused."""
        origin = self.headers.get("Origin")
        if origin is not None and origin not in {f"http://{h}:{self.server.port}" for h in _ALLOWED_HOSTS}:
            raise _Refused(403, "cross-origin requests are refused")
        site = self.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise _Refused(403, "cross-site requests are refused")

    def _body(self) -> dict[str, Any]:
        """The request's JSON object (at most MAX_BODY bytes)."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _Refused(411, "send a Content-Length (chunked bodies are not accepted)")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            raise _Refused(411, "a Content-Length header is required")
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise _Refused(400, "a bad Content-Length") from None
        if length > MAX_BODY:
            self.close_connection = True
            if length <= _DRAIN:  # read it away, so that the client is not cut off while sending
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(left, 65_536))
                    if not chunk:
                        break
                    left -= len(chunk)
            raise _Refused(413, f"a request may carry at most {MAX_BODY:,} bytes (a spec at most {MAX_SPEC_BYTES:,})")
        raw = self.rfile.read(length)
        if ctype != "application/json":
            raise _Refused(415, "send JSON (Content-Type: application/json)")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Refused(400, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object")
        return body

    @staticmethod
    def _text(body: dict[str, Any], key: str = "text") -> str:
        text = body.get(key)
        if not isinstance(text, str):
            raise _Refused(400, f"'{key}' must be a string")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise _Refused(400, f"'{key}' is not valid Unicode") from None
        if size > MAX_SPEC_BYTES:
            raise _Refused(413, f"the spec has {size:,} bytes; a spec may have at most {MAX_SPEC_BYTES:,}")
        return text

    @staticmethod
    def _int(body: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
        value = body.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _Refused(400, f"'{key}' must be a whole number from {lo} to {hi}")
        return value

    def _dispatch(self, routes: dict[str, Any]) -> None:
        try:
            self._check_host()
            route = routes.get(urlsplit(self.path).path)
            if route is None:
                raise _Refused(404, "not found")
            route()
        except _Refused as err:
            self._error(err.status, str(err))
        except FolderError as err:
            self._error(err.status, str(err))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # a bug: answer 500, say what it was on the terminal
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"internal error: {type(err).__name__}: {err}")

    # ---- the requests

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        routes = {path: (lambda name=name, ctype=ctype: self._send(200, _asset(name), ctype))
                  for path, (name, ctype) in _STATIC.items()}
        routes.update({"/api/start": self._start, "/api/file": self._file, "/api/files": self._files})
        self._dispatch(routes)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        def post(handler):
            def run() -> None:
                self._check_origin()
                handler(self._body())
            return run

        self._dispatch({"/api/check": post(self._check), "/api/render": post(self._render),
                        "/api/command": post(self._command), "/api/save": post(self._save)})

    def _start(self) -> None:
        folder, path = self.server.folder, self.server.initial
        text = folder.read(path) if folder is not None and path is not None else example_text()
        self._json(200, {"folder": folder.root.name if folder else None, "files": folder.list() if folder else [],
                         "path": path, "text": text, "read_only": self.server.read_only or folder is None,
                         "max_bytes": MAX_SPEC_BYTES, "default_steps": api.DEFAULT_STEPS,
                         "max_steps": api.MAX_DRAWN_STEPS})

    def _files(self) -> None:
        folder = self.server.folder
        self._json(200, {"files": folder.list() if folder else []})

    def _file(self) -> None:
        folder = self.server.folder
        if folder is None:
            raise _Refused(404, "no folder is served (start with `rnndsl serve FOLDER`)")
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        paths = query.get("path", [])
        if len(paths) != 1:
            raise _Refused(400, "give one ?path=")
        self._json(200, {"path": paths[0], "text": folder.read(paths[0])})

    def _check(self, body: dict[str, Any]) -> None:
        self._json(200, api.check_text(self._text(body), body.get("path") if isinstance(body.get("path"), str)
                                       and len(body["path"]) < 256 else "spec.rnn"))

    def _render(self, body: dict[str, Any]) -> None:
        text = self._text(body)
        view = body.get("view", "unrolled")
        if view not in ("unrolled", "folded"):
            raise _Refused(400, "'view' must be 'unrolled' or 'folded'")
        steps = self._int(body, "steps", 1, api.MAX_DRAWN_STEPS)
        shapes = body.get("shapes", False)
        if not isinstance(shapes, bool):
            raise _Refused(400, "'shapes' must be true or false")
        try:
            svg = api.render_svg(text, view, steps, shapes)
        except api.SpecRejected as err:
            self._json(422, {"error": "the spec has errors", "diagnostics": [api.diagnostic_json(d) for d in err.diagnostics]})
            return
        except api.RenderError as err:
            raise _Refused(503, str(err)) from None
        self._send(200, svg, "image/svg+xml; charset=utf-8")

    def _command(self, body: dict[str, Any]) -> None:
        text = self._text(body)
        path, dirty = None, False
        folder = self.server.folder
        if folder is not None and body.get("path"):
            full = folder.resolve(body["path"])
            dirty = folder.read(body["path"]) != text
            try:
                rel = os.path.relpath(full, Path.cwd())
            except ValueError:
                rel = str(full)
            path = str(full) if rel.startswith("..") else rel
        fields = {}
        for key in ("data", "data_dir"):
            value = body.get(key) or ""
            if not isinstance(value, str) or len(value) > 4096 or any(ord(ch) < 32 for ch in value):
                raise _Refused(400, f"'{key}' must be a short string")
            fields[key] = value
        epochs = self._int(body, "epochs", 1, 1_000_000)
        self._json(200, api.compile_command(text, path, dirty, epochs=epochs, **fields))

    def _save(self, body: dict[str, Any]) -> None:
        folder = self.server.folder
        if folder is None or self.server.read_only:
            raise _Refused(403, "saving is off (no folder, or --read-only)")
        text = self._text(body)
        folder.write(body.get("path"), text)
        self._json(200, {"ok": True, "path": body.get("path"), "bytes": len(text.encode("utf-8"))})

