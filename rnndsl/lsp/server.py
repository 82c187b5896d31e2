"""The Language Server: pygls over stdio, with the features of features.py.

Every document is analysed when it opens, changes or is saved, and its diagnostics are
published; hover, definition and completion read the latest analysis.  Positions cross the
protocol in the client's units (UTF-16 by default, as negotiated) and are code points
inside.  A failing feature is logged (stderr and window/logMessage) and answers nothing:
the server never stops on a spec or on a bug of its own.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from typing import Any, BinaryIO, Callable

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from ..version import __version__
from ..errors import SpecError
from .analysis import Analysis, analyse_document
from .features import (Completion, LspDiagnostic, completion, definition, diagnostics, find_formatter,
                       format_document, hover, quick_fix)
from .text import Position, Range

__all__ = ["RnnLanguageServer", "build_server", "serve"]

log = logging.getLogger("rnndsl.lsp")

_SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning}
_ITEM_KIND = {
    "layer": T.CompletionItemKind.Function, "named-layer": T.CompletionItemKind.Class,
    "stream": T.CompletionItemKind.Variable, "value": T.CompletionItemKind.Variable,
    "input": T.CompletionItemKind.Variable, "param": T.CompletionItemKind.Field,
    "keyword": T.CompletionItemKind.Keyword, "parameter": T.CompletionItemKind.Property,
    "literal": T.CompletionItemKind.EnumMember, "dataset": T.CompletionItemKind.Module,
    "setting": T.CompletionItemKind.Property,
}


class RnnLanguageServer(LanguageServer):
    """A pygls LanguageServer that keeps the latest analysis of every open document."""

    def __init__(self) -> None:
        super().__init__("rnndsl", __version__, text_document_sync_kind=T.TextDocumentSyncKind.Incremental)
        self._analyses: dict[str, Analysis] = {}
        self._lock = threading.Lock()
        self.shutdown_requested = False

    # ---- documents -------------------------------------------------------------------------
    def analysis(self, uri: str) -> tuple[Analysis, Any]:
        """The analysis of a document's current text (computed again only when the text changed)."""
        doc = self.workspace.get_text_document(uri)
        text = doc.source
        with self._lock:
            cached = self._analyses.get(uri)
        if cached is None or cached.text != text:
            cached = analyse_document(text)
            with self._lock:
                self._analyses[uri] = cached
        return cached, doc

    def forget(self, uri: str) -> None:
        with self._lock:
            self._analyses.pop(uri, None)

    def publish(self, uri: str, version: int | None = None) -> None:
        an, doc = self.analysis(uri)
        items = [to_client_diagnostic(an, doc, d) for d in diagnostics(an)]
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=items,
                                                                          version=version))

    def log_error(self, what: str, err: BaseException) -> None:
        """Log a failure to stderr and to the client's log; never raises."""
        text = f"rnndsl lsp: {what} failed: {type(err).__name__}: {err}"
        log.error("%s\n%s", text, "".join(traceback.format_exception(err)))
        try:
            self.window_log_message(T.LogMessageParams(type=T.MessageType.Error, message=text))
        except Exception:  # pragma: no cover - the client is gone
            pass


# ---- positions ------------------------------------------------------------------------------
def _units(doc: Any, s: str) -> int:
    return doc.position_codec.client_num_units(s)


def to_client(an: Analysis, doc: Any, pos: Position) -> T.Position:
    """A code-point position -> the client's units."""
    lines = an.index.lines
    if pos.line >= len(lines):
        return T.Position(line=pos.line, character=0)
    return T.Position(line=pos.line, character=_units(doc, lines[pos.line][:pos.col]))


def to_client_range(an: Analysis, doc: Any, r: Range) -> T.Range:
    return T.Range(start=to_client(an, doc, r.start), end=to_client(an, doc, r.end))


def from_client(an: Analysis, doc: Any, pos: T.Position) -> Position:
    """A position in the client's units -> code points (clamped to the line)."""
    lines = an.index.lines
    if pos.line >= len(lines):
        return Position(len(lines) - 1, len(lines[-1]))
    line = lines[pos.line]
    units = 0
    for i, ch in enumerate(line):
        if units >= pos.character:
            return Position(pos.line, i)
        units += _units(doc, ch)
    return Position(pos.line, len(line))


def to_client_diagnostic(an: Analysis, doc: Any, d: LspDiagnostic) -> T.Diagnostic:
    return T.Diagnostic(range=to_client_range(an, doc, d.range), message=d.message,
                        severity=_SEVERITY.get(d.severity, T.DiagnosticSeverity.Error), code=d.code, source="rnndsl")


# ---- the server -------------------------------------------------------------------------------
def _guarded(server: RnnLanguageServer, what: str, default: Any = None) -> Callable:
    """Run a handler; on an exception log it and answer `default` (the server keeps going)."""
    def wrap(f: Callable) -> Callable:
        def handler(params: Any) -> Any:
            try:
                return f(params)
            except Exception as err:
                server.log_error(what, err)
                return default
        handler.__name__ = f.__name__
        return handler
    return wrap


def _item(c: Completion) -> T.CompletionItem:
    return T.CompletionItem(
        label=c.label, kind=_ITEM_KIND.get(c.kind), detail=c.detail or None,
        documentation=T.MarkupContent(kind=T.MarkupKind.Markdown, value=c.documentation) if c.documentation else None,
        insert_text=c.insert_text, sort_text=f"{c.sort}{c.label}")


def build_server() -> RnnLanguageServer:
    """A server with every feature registered (formatting only when rnndsl.syntax.format exists)."""
    server = RnnLanguageServer()

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    @_guarded(server, "didOpen")
    def did_open(params: T.DidOpenTextDocumentParams) -> None:
        server.publish(params.text_document.uri, params.text_document.version)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    @_guarded(server, "didChange")
    def did_change(params: T.DidChangeTextDocumentParams) -> None:
        server.publish(params.text_document.uri, params.text_document.version)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    @_guarded(server, "didSave")
    def did_save(params: T.DidSaveTextDocumentParams) -> None:
        server.publish(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    @_guarded(server, "didClose")
    def did_close(params: T.DidCloseTextDocumentParams) -> None:
        server.forget(params.text_document.uri)
        server.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                            diagnostics=[]))

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    @_guarded(server, "hover")
    def on_hover(params: T.HoverParams) -> T.Hover | None:
        an, doc = server.analysis(params.text_document.uri)
        found = hover(an, from_client(an, doc, params.position))
        if found is None:
            return None
        return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=found.markdown),
                       range=to_client_range(an, doc, found.range))

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    @_guarded(server, "definition")
    def on_definition(params: T.DefinitionParams) -> list[T.Location] | None:
        an, doc = server.analysis(params.text_document.uri)
        ranges = definition(an, from_client(an, doc, params.position))
        return [T.Location(uri=params.text_document.uri, range=to_client_range(an, doc, r)) for r in ranges] or None

    @server.feature(T.TEXT_DOCUMENT_COMPLETION,
                    T.CompletionOptions(trigger_characters=["|", "(", ",", "=", "["]))
    @_guarded(server, "completion")
    def on_completion(params: T.CompletionParams) -> T.CompletionList:
        an, doc = server.analysis(params.text_document.uri)
        items = completion(an, from_client(an, doc, params.position))
        return T.CompletionList(is_incomplete=False, items=[_item(c) for c in items])

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION, T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.QuickFix]))
    @_guarded(server, "codeAction")
    def on_code_action(params: T.CodeActionParams) -> list[T.CodeAction] | None:
        an, doc = server.analysis(params.text_document.uri)
        asked = Range(from_client(an, doc, params.range.start), from_client(an, doc, params.range.end))
        actions = []
        for d in diagnostics(an):
            fix = quick_fix(d, an)
            if fix is None or d.range.end < asked.start or asked.end < d.range.start:
                continue
            where, old, new = fix
            edit = T.TextEdit(range=to_client_range(an, doc, where), new_text=new)
            actions.append(T.CodeAction(title=f"Replace '{old}' with '{new}'", kind=T.CodeActionKind.QuickFix,
                                        diagnostics=[to_client_diagnostic(an, doc, d)], is_preferred=True,
                                        edit=T.WorkspaceEdit(changes={params.text_document.uri: [edit]})))
        return actions or None

    formatter = find_formatter()
    if formatter is not None:
        @server.feature(T.TEXT_DOCUMENT_FORMATTING)
        @_guarded(server, "formatting")
        def on_formatting(params: T.DocumentFormattingParams) -> list[T.TextEdit] | None:
            an, doc = server.analysis(params.text_document.uri)
            try:
                new = format_document(an.text, formatter)
            except SpecError:  # a spec that does not parse is left as it is (its diagnostics say why)
                return None
            if new is None:
                return []
            lines = an.index.lines
            end = to_client(an, doc, Position(len(lines) - 1, len(lines[-1])))
            return [T.TextEdit(range=T.Range(start=T.Position(line=0, character=0), end=end), new_text=new)]

    @server.feature(T.SHUTDOWN)
    def on_shutdown(params: Any = None) -> None:
        server.shutdown_requested = True

    return server


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None, log_level: str = "warning") -> int:
    """Run the server over stdio until the client says exit; 0 after a shutdown request, else 1 (as LSP says)."""
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, log_level.upper(), logging.WARNING),
                        format="%(name)s: %(levelname)s: %(message)s")
    server = build_server()
    server.start_io(stdin, stdout)
    return 0 if server.shutdown_requested else 1
