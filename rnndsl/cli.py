"""The command line.  The only module that reads files, prints and chooses exit codes.

Exit codes: 0 ok, 1 a spec error (diagnostics printed), 2 bad usage or unreadable input.
`check` and `render` never import TensorFlow; `compile` imports it only when it runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from .errors import SpecError, render_all

__all__ = ["main"]


class UsageError(Exception):
    """Bad usage: exit 2."""


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read: {err}") from None


def _load(path: str):
    """Read and check one spec; print its diagnostics and raise SpecError when it fails."""
    from .pipeline import compile_text

    text = _read(path)
    try:
        checked = compile_text(text)
    except SpecError as err:
        print(render_all(err.diagnostics, text, path), file=sys.stderr)
        raise
    if checked.warnings:
        print(render_all(checked.warnings, text, path), file=sys.stderr)
    return checked, text


def cmd_check(args: argparse.Namespace) -> int:
    from .report import ir_dump, summary

    failed = 0
    started = time.perf_counter()
    for i, path in enumerate(args.specs):
        try:
            checked, _ = _load(path)
        except SpecError:
            failed += 1
            continue
        if args.dump_ir:
            print(ir_dump(checked), end="")
        elif not args.quiet:
            if i:
                print()
            print(f"{path}")
            print(summary(checked))
        else:
            print(f"{path}: ok, {checked.total_params:,} parameters")
    if len(args.specs) > 1:
        ok = len(args.specs) - failed
        print(f"\nchecked {len(args.specs)} specs in {time.perf_counter() - started:.2f} s: "
              f"{ok} ok, {failed} with errors", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    ap = argparse.ArgumentParser(prog="rnndsl", description="Check, draw and compile recurrent wiring specs (.rnn).")
    ap.add_argument("--version", action="version", version=f"rnndsl {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="parse, resolve, infer shapes and report (no TensorFlow)")
    p.add_argument("specs", nargs="+", metavar="SPEC", help=".rnn files")
    p.add_argument("-q", "--quiet", action="store_true", help="one line per spec")
    p.add_argument("--dump-ir", action="store_true", help="print the checked IR in its stable text form")
    p.set_defaults(func=cmd_check)

    from . import cli_render, cli_compile  # noqa: F401  (they add their sub-commands)
    cli_render.add_parser(sub)
    cli_compile.add_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rnndsl` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"rnndsl: error: {err}", file=sys.stderr)
        return 2
    except SpecError:
        return 1
    except KeyboardInterrupt:
        print("rnndsl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
