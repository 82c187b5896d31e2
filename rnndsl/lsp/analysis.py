"""Spec text -> everything the front end can say about it, even when the spec has errors.

`analyse_document` runs what `rnndsl check` runs (parse, lower, `checks.run_rules`)
but keeps what the rules inferred when there are errors: the shapes, layers and FLOPs of the
parts that are fine, so hover still has something to say.  It never raises: an exception
inside the front end (a bug) becomes an `internal` diagnostic and is logged.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from dataclasses import dataclass, field

from ..checks import RuleRun, run_rules
from ..checks.facts import Facts
from ..errors import Diagnostic, Span, SpecError
from ..ir import Program
from ..semantics import lower
from ..semantics.layers import ChainStage, resolve_layer_defs
from ..semantics.symbols import collect
from ..syntax import ast as A
from ..syntax import parse
from .text import TextIndex

__all__ = ["Analysis", "analyse_document"]

log = logging.getLogger("rnndsl.lsp")


@dataclass(eq=False)
class Analysis:
    """One text and what is known about it.

    `spec` is None when the text does not parse; `program` None when it could not be lowered.
    `facts` holds what the checks inferred (shapes, layers, FLOPs, learned tensors), complete
    for a spec without errors and partial otherwise.
    """

    text: str
    index: TextIndex
    diagnostics: tuple[Diagnostic, ...]
    spec: A.Spec | None = None
    program: Program | None = None
    facts: Facts = field(default_factory=Facts)
    chains: dict[str, tuple[ChainStage, ...]] = field(default_factory=dict)  # named layers without errors

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def ok(self) -> bool:
        """Whether the spec checks (warnings aside)."""
        return self.program is not None and not self.errors


def _internal(err: BaseException, stage: str) -> Diagnostic:
    log.error("rnndsl lsp: %s failed:\n%s", stage, "".join(traceback.format_exception(err)))
    return Diagnostic("internal", f"rnndsl could not finish checking this spec ({stage}: {type(err).__name__}: "
                      f"{err}); this is a bug in rnndsl, please report it", Span(1, 1, 1, 2))


def analyse_document(text: str) -> Analysis:
    """Parse, lower and check `text`; keep every diagnostic and whatever facts could be inferred."""
    try:
        spec = parse(text)
    except SpecError as err:
        return Analysis(text, TextIndex(text, recover=True), tuple(err.diagnostics))
    except Exception as err:  # a bug in the parser: say so, keep serving
        return Analysis(text, TextIndex(text, recover=True), (_internal(err, "parse"),))
    index = TextIndex(text)
    found: list[Diagnostic] = []
    program = None
    facts = Facts()
    chains: dict[str, tuple[ChainStage, ...]] = {}
    try:
        lowered = lower(spec)
        program = dataclasses.replace(lowered.program, source=text)
        found.extend(lowered.diagnostics)
    except SpecError as err:
        found.extend(err.diagnostics)
    except Exception as err:
        found.append(_internal(err, "lower"))
    if program is not None:  # the rules `check` runs, without raising: the facts of a spec with errors are kept
        run = RuleRun(diagnostics=found)  # the rules append to `found`
        try:
            run_rules(program, run)
        except SpecError as err:
            found.extend(err.diagnostics)
        except Exception as err:
            found.append(_internal(err, f"check {run.running}"))
        facts = run.facts
    try:
        chains, _ = resolve_layer_defs(collect(spec))
    except Exception as err:  # only hover on a named layer's definition needs it
        log.warning("rnndsl lsp: named layers: %s", err)
    ordered = sorted(found, key=lambda d: (d.span.line, d.span.col, d.severity != "error", d.code))
    return Analysis(text, index, tuple(ordered), spec, program, facts, chains)
