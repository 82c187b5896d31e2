"""`rnndsl check SPEC...`: parse, lower, check and report (never imports TensorFlow)."""

from __future__ import annotations

import argparse
import sys
import time

from ..checks.report import ir_dump, summary
from ..errors import SpecError
from .common import UsageError, load

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the check sub-command."""
    p = sub.add_parser("check", help="parse, resolve, infer shapes and report (no TensorFlow)")
    p.add_argument("specs", nargs="+", metavar="SPEC", help=".rnn files")
    p.add_argument("-q", "--quiet", action="store_true", help="one line per spec")
    p.add_argument("--dump-ir", action="store_true", help="print the checked IR in its stable text form")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Check every spec (an unreadable one does not stop the rest); exit 2 if any was unreadable, else 1 if any failed."""
    failed = unreadable = 0
    started = time.perf_counter()
    for i, path in enumerate(args.specs):
        try:
            analysed, _ = load(path)
        except SpecError:
            failed += 1
            continue
        except UsageError as err:
            print(f"rnndsl: error: {err}", file=sys.stderr)
            unreadable += 1
            continue
        checked = analysed.checked
        if args.dump_ir:
            print(ir_dump(checked), end="")
        elif not args.quiet:
            if i:
                print()
            print(f"{path}")
            print(summary(checked))
        else:
            print(f"{path}: ok, {checked.total_params:,} parameters")
    n = len(args.specs)
    if n > 1:
        ok = n - failed - unreadable
        print(f"\nchecked {n} specs in {time.perf_counter() - started:.2f} s: {ok} ok, {failed} with errors"
              + (f", {unreadable} unreadable" if unreadable else ""), file=sys.stderr)
    return 2 if unreadable else (1 if failed else 0)
