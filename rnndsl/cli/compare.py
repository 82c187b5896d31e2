"""`rnndsl compare SPEC... --seeds N --out DIR`: train every spec with every seed, then write a report.

Each (spec, seed) is one `python -m rnndsl compile ... --train --out DIR/runs/<spec>-seed<k>`
worker process, `--jobs` of them at a time, its output in DIR/logs/<spec>-seed<k>.log.  The
command is resumable: a run folder that finished with the same spec text and settings is reused,
one that was killed or interrupted is continued with `compile --resume`, a finished one with
fewer epochs is extended, and a diverged one is reported as diverged.  A run folder with other
settings is never touched: that is a usage error naming it.  The statistics and the report are
`training/compare.py`; this module never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SpecError
from ..training.backend import BACKENDS, BackendError, choose
from ..training.config import ConfigError, RunConfig, run_config
from .common import UsageError, load
from .compile import DATA_CHOICES, _positive, _rate

if TYPE_CHECKING:  # imported where they run: building the parser (`rnndsl check` too) loads no numpy
    from ..data.sources import DataArgs
    from ..training.run_folder import SavedRun

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the compare sub-command."""
    p = sub.add_parser("compare", help="train each spec with several seeds; report means, intervals and which "
                                       "differences are real")
    p.add_argument("specs", metavar="SPEC", nargs="+", help="the specs to compare (two or more, usually)")
    p.add_argument("--seeds", type=_positive, default=3, metavar="N", help="train each spec with seeds 0..N-1 "
                                                                          "(default 3)")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="the comparison folder: runs/, logs/, report.md, report.html, curves.png, summary.json; "
                        "run again with the same DIR to reuse the runs already done")
    p.add_argument("--jobs", type=_positive, default=1, metavar="N",
                   help="train N runs at a time, each in its own process (default 1)")
    p.add_argument("--epochs", type=_positive, help="override the specs' epochs")
    p.add_argument("--batch-size", type=_positive, help="override the specs' batch size")
    p.add_argument("--lr", type=_rate, help="override the optimizer's learning rate")
    p.add_argument("--data", metavar="DATA", help=f"as for compile: {DATA_CHOICES}")
    p.add_argument("--data-dir", metavar="DIR", help="read a built-in set's standard files from DIR")
    p.add_argument("--window", type=_positive, metavar="W", help="for a .csv series: windows of W steps")
    p.add_argument("--limit", type=_positive, metavar="N", help="train on the first N training examples")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="the Keras backend every run trains on: tensorflow, jax or torch (default: KERAS_BACKEND, "
                        "else tensorflow); passed to each worker")
    p.set_defaults(func=cmd_compare)


@dataclass
class _Run:
    """One (spec, seed) and what to do with its folder."""

    spec: "_Spec"
    seed: int
    folder: Path
    action: str = "train"  # train | resume | extend | reused | diverged
    index: int = 0
    message: str | None = None
    status: str | None = None

    @property
    def name(self) -> str:
        return self.folder.name


@dataclass
class _Spec:
    path: str
    label: str
    text: str
    title: str | None
    parameters: int
    data: str | None  # the spec's `data` line (a built-in set), if any
    cfg: dict = field(default_factory=dict)  # seed -> RunConfig


def _labels(paths: list[str]) -> list[str]:
    """Folder-safe, distinct names: the file stems, with parent folders prepended where two collide."""
    resolved = [Path(p).resolve() for p in paths]
    seen: dict[Path, str] = {}
    for p, r in zip(paths, resolved):
        if r in seen:
            raise UsageError(f"{p}: listed twice (as {seen[r]} too)")
        seen[r] = p
    depth = [1] * len(paths)
    while True:
        labels = ["-".join(r.with_suffix("").parts[-d:]) for r, d in zip(resolved, depth)]
        labels = [re.sub(r"[^A-Za-z0-9_.-]+", "_", x).strip("._-") or "spec" for x in labels]
        clash = [i for i, x in enumerate(labels) if labels.count(x) > 1 and depth[i] < len(resolved[i].parts)]
        if not clash:
            return labels
        for i in clash:  # only the colliding ones take their parent folder's name
            depth[i] += 1


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is an existing file; name a folder")
    if out.is_dir() and any(out.iterdir()) and not ((out / "runs").is_dir() or (out / "summary.json").is_file()):
        raise UsageError(f"--out {out}: the folder holds other files and is not a comparison folder; "
                         f"name a new or empty folder, or one an earlier `rnndsl compare` wrote")
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
        (out / "logs").mkdir(exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {out}: cannot create the folder: {err.strerror or err}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"--out {out}: the folder is not writable")


def _check_data(args: argparse.Namespace, specs: list[_Spec]) -> None:
    """The data errors every run would hit (compile's rules: data.sources), found before the first one starts."""
    from ..data import DataError
    from ..data.sources import DataArgs, check_paths, source_of

    given = DataArgs.of(args)
    check_paths(given)
    for spec in specs:
        try:
            source_of(given, spec.data)
        except DataError as err:
            raise UsageError(f"{spec.path}: {err}") from None


def _validate(args: argparse.Namespace) -> list[_Spec]:
    """Read and check every spec before anything trains; every failure is reported (exit 2, else 1)."""
    labels = _labels(args.specs)
    specs, usage, failed = [], [], 0
    for path, label in zip(args.specs, labels):
        try:
            analysed, text = load(path)
        except UsageError as err:
            print(f"rnndsl: error: {err}", file=sys.stderr)
            usage.append(path)
            continue
        except SpecError:
            failed += 1
            continue
        program = analysed.checked.program
        spec = _Spec(path, label, text, program.title, analysed.checked.total_params, program.data)
        try:
            for seed in range(args.seeds):
                spec.cfg[seed] = run_config(analysed.train, lr=args.lr, batch=args.batch_size, epochs=args.epochs,
                                            seed=seed)
        except ConfigError as err:
            print(f"rnndsl: error: {path}: {err}", file=sys.stderr)
            usage.append(path)
            continue
        specs.append(spec)
    if usage:
        raise UsageError(f"{len(usage)} spec(s) could not be used: {', '.join(usage)}")
    if failed:
        print(f"rnndsl: {failed} spec(s) failed the check; nothing was trained", file=sys.stderr)
        raise SpecError([])
    return specs


def _differences(run: SavedRun, spec: _Spec, cfg: RunConfig, expected: DataArgs, backend: str) -> list[str]:
    """How a run folder's settings differ from what this comparison asks for (epochs aside)."""
    from ..data.sources import FLAGS

    diffs = []
    if run.spec_text != spec.text:
        diffs.append(f"the spec text differs from {spec.path}")
    if run.backend != backend:
        diffs.append(f"backend {run.backend!r}, not {backend!r}")
    settings = run.settings
    for key, want in (("seed", cfg.seed), ("batch", cfg.batch), ("optimizer", cfg.optimizer),
                      ("optimizer_params", dict(cfg.optimizer_params)), ("xla", cfg.xla)):
        if settings.get(key) != want:
            diffs.append(f"{key} {settings.get(key)!r}, not {want!r}")
    have = run.data_args.absolute()  # an older relative path: as seen from here
    for key, want in expected.record().items():
        if getattr(have, key) != want:
            diffs.append(f"{FLAGS[key].lstrip('-')} {getattr(have, key)!r}, not {want!r}")
    return diffs


def _plan(args: argparse.Namespace, specs: list[_Spec], out: Path) -> list[_Run]:
    """What to do with each run folder; a folder trained with other settings is an error (never touched)."""
    from ..data.sources import DataArgs
    from ..training.run_folder import RunFolderError, read_run_folder

    expected = DataArgs.of(args).absolute()
    runs, clashes = [], []
    for spec in specs:
        for seed in range(args.seeds):
            run = _Run(spec, seed, out / "runs" / f"{spec.label}-seed{seed}")
            cfg = spec.cfg[seed]
            if not (run.folder / "manifest.json").exists():
                if run.folder.is_dir() and any(run.folder.iterdir()):
                    # killed before it wrote a manifest: nothing was trained, start it again
                    shutil.rmtree(run.folder)
                run.action = "train"
            else:
                try:
                    saved = read_run_folder(run.folder)
                except RunFolderError as err:  # damaged, or a newer rnndsl's: never touched
                    clashes.append(str(err))
                    continue
                diffs = _differences(saved, spec, cfg, expected, args.backend)
                status, done = saved.status, saved.epochs_done
                planned = int(saved.settings.get("epochs") or 0)
                if planned > cfg.epochs and not diffs:
                    diffs.append(f"epochs {planned}, not {cfg.epochs}")
                if diffs:
                    clashes.append(f"{run.folder}: trained with other settings: {'; '.join(diffs)}")
                    continue
                has_checkpoint = saved.checkpoint is not None
                if status == "finished" and planned == cfg.epochs:
                    run.action = "reused"
                elif status == "diverged":
                    run.action = "diverged"
                elif status == "finished" and has_checkpoint and done < cfg.epochs:
                    run.action = "extend"
                elif status in ("running", "interrupted") and has_checkpoint:
                    run.action = "resume"
                elif status in ("running", "interrupted"):  # killed before its first checkpoint: nothing to keep
                    shutil.rmtree(run.folder)
                    run.action = "train"
                else:
                    clashes.append(f"{run.folder}: status {status!r} with {done} epoch(s) done and no checkpoint")
                    continue
            runs.append(run)
    if clashes:
        raise UsageError("these run folders cannot be reused or continued; use another --out, or remove them:\n  "
                         + "\n  ".join(clashes))
    for i, run in enumerate(runs, 1):
        run.index = i
    return runs


def _command(args: argparse.Namespace, run: _Run) -> list[str]:
    base = [sys.executable, "-m", "rnndsl", "compile"]
    cfg = run.spec.cfg[run.seed]
    if run.action in ("resume", "extend"):  # the run folder holds the spec, data and settings
        return base + ["--resume", str(run.folder), "--epochs", str(cfg.epochs), "--no-summary",
                       "--backend", args.backend]
    from ..data.sources import DataArgs

    cmd = base + [os.path.abspath(run.spec.path), "--train", "--seed", str(run.seed), "--out", str(run.folder),
                  "--no-summary", "--backend", args.backend, *DataArgs.of(args).absolute().words()]
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size), ("--lr", args.lr)):
        if value is not None:
            cmd += [flag, repr(value) if isinstance(value, float) else str(value)]
    return cmd


def _line(run: _Run, total: int, what: str, seconds: float | None) -> str:
    """`[3/8] lag2 seed 1: finished: test accuracy 0.8123 (best 0.8123), 1 epoch(s), 12.3 s`.

    `seconds`: the worker's wall time; without it (a reused run) the training time its metrics record.
    """
    from ..training.compare import headline, read_run

    data = read_run(run.folder)
    m, records = data["manifest"] or {}, data["records"]
    metric = headline(m.get("metrics") or ["loss"])
    final = (m.get("final") or {}).get(metric["key"])
    values = [r[metric["key"]] for r in records if r.get(metric["key"]) is not None]
    best = (max if metric["higher_is_better"] else min)(values) if values else None
    trained = sum(float(r.get("seconds") or 0) for r in records)
    result = "no result"
    if final is not None:
        result = f"{metric['label']} {final:.4f}" + (f" (best {best:.4f})" if best is not None else "")
    when = f"{seconds:.1f} s" if seconds is not None else f"trained in {trained:.1f} s"
    return (f"[{run.index}/{total}] {run.spec.label} seed {run.seed}: {what}: {result}, "
            f"{m.get('epochs_done', len(records))} epoch(s), {when}")


def _last_error(log: Path) -> str:
    try:
        lines = [x.strip() for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
    except OSError:
        return "no log"
    errors = [x for x in lines if x.startswith("rnndsl: error") or x.startswith("rnndsl: internal error")]
    return (errors[-1] if errors else (lines[-1] if lines else "no output"))[:300]


def _execute(args: argparse.Namespace, runs: list[_Run], out: Path) -> bool:
    """Run the worker processes, --jobs at a time; print a line when each starts and ends.

    Returns False when interrupted (Ctrl-C or SIGTERM): each worker is then sent one SIGINT (they
    run in their own process group, so a terminal's Ctrl-C reaches only this process), saves a
    checkpoint and exits; the next `compare` with the same --out continues them.
    """
    total = len(runs)
    pending = [r for r in runs if r.action in ("train", "resume", "extend")]
    for run in runs:
        if run.action == "reused":
            run.status = "finished"
            print(_line(run, total, "reused (finished earlier)", None), flush=True)
        elif run.action == "diverged":
            run.status = "diverged"
            run.message = "diverged earlier (its manifest says so); not retrained"
            print(f"[{run.index}/{total}] {run.spec.label} seed {run.seed}: diverged earlier; reported as diverged "
                  f"(remove {run.folder} to train it again)", flush=True)
    running: dict[int, tuple[_Run, subprocess.Popen, float, object]] = {}
    interrupted = False
    old_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        while pending or running:
            while pending and len(running) < args.jobs:
                run = pending.pop(0)
                log_path = out / "logs" / f"{run.name}.log"
                log = open(log_path, "a", encoding="utf-8")
                cmd = _command(args, run)
                log.write(f"$ {' '.join(cmd)}\n")
                log.flush()
                verb = {"train": "training", "resume": "resuming", "extend": "extending"}[run.action]
                print(f"[{run.index}/{total}] {run.spec.label} seed {run.seed}: {verb} (log {log_path})", flush=True)
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                running[proc.pid] = (run, proc, time.perf_counter(), log)
            time.sleep(0.2)
            for pid in list(running):
                run, proc, started, log = running[pid]
                code = proc.poll()
                if code is None:
                    continue
                del running[pid]
                log.close()
                _finished(run, code, time.perf_counter() - started, total, out)
    except KeyboardInterrupt:
        interrupted = True
        print(f"\nrnndsl: interrupted; stopping {len(running)} run(s) at a checkpoint ...", file=sys.stderr,
              flush=True)
        for run, proc, _, _ in running.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        try:
            for run, proc, _, log in running.values():
                proc.wait()
                log.close()
        except KeyboardInterrupt:  # a second Ctrl-C: stop them now; they resume from their last checkpoint
            for run, proc, _, log in running.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        signal.signal(signal.SIGTERM, old_term)
    return not interrupted


def _finished(run: _Run, code: int, seconds: float, total: int, out: Path) -> None:
    log = out / "logs" / f"{run.name}.log"
    if code == 0:
        run.status = "finished"
        print(_line(run, total, "finished", seconds), flush=True)
    elif code == 4:
        run.status = "diverged"
        run.message = _last_error(log).removeprefix("rnndsl: error: ")
        print(f"[{run.index}/{total}] {run.spec.label} seed {run.seed}: diverged after {seconds:.1f} s "
              f"(log {log})", flush=True)
    else:
        run.status = "failed"
        why = ({130: "interrupted", 2: "usage or data error", 3: "internal error"}.get(code, f"exit {code}")
               if code >= 0 else f"killed by signal {-code}")
        run.message = f"{why}: {_last_error(log)}"
        print(f"[{run.index}/{total}] {run.spec.label} seed {run.seed}: FAILED ({run.message}); log {log}",
              flush=True)


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_compare(args: argparse.Namespace) -> int:
    from ..training.compare import SpecRuns, write_report

    started = time.perf_counter()
    out = Path(args.out)
    try:
        args.backend = choose(args.backend)  # every worker gets it by name, whatever its environment says
    except BackendError as err:
        raise UsageError(str(err)) from None
    specs = _validate(args)  # nothing is written or trained before every spec checks
    _check_data(args, specs)
    _check_out(out)
    runs = _plan(args, specs, out)
    todo = sum(r.action in ("train", "resume", "extend") for r in runs)
    print(f"rnndsl: comparing {len(specs)} spec(s) x {args.seeds} seed(s) = {len(runs)} run(s) in {out} on the "
          f"{args.backend} backend: "
          f"{todo} to train, {len(runs) - todo} done before; {args.jobs} at a time", flush=True)
    if not _execute(args, runs, out):
        print(f"rnndsl: interrupted; run the same command again to continue (finished runs are reused, "
              f"interrupted ones resumed)", file=sys.stderr)
        return 130
    entries = []
    for spec in specs:
        mine = [r for r in runs if r.spec is spec]
        entries.append(SpecRuns(spec.label, spec.path, [(r.seed, r.folder) for r in mine], spec.title,
                                spec.parameters, {r.seed: r.message for r in mine if r.message},
                                {r.seed: r.status for r in mine if r.status}))
    settings = {"seeds": list(range(args.seeds)), "data": args.data, "data_dir": args.data_dir,
                "window": args.window, "limit": args.limit, "epochs": args.epochs, "batch_size": args.batch_size,
                "lr": args.lr, "backend": args.backend, "command": "rnndsl " + " ".join(sys.argv[1:])}
    try:
        summary = write_report(out, entries, settings)
    except OSError as err:
        raise UsageError(f"{out}: cannot write the report: {err.strerror or err}") from None
    for s in summary["specs"]:
        f = s["final"]
        ci = f" [{f['lo']:.4f}, {f['hi']:.4f}]" if f["lo"] is not None else ""
        mean = f"{f['mean']:.4f}" if f["mean"] is not None else "n/a"
        print(f"rnndsl: {s['label']}: final {s['metric']['label']} {mean}{ci} over {f['n']} run(s)")
    for c in summary["comparisons"]:
        if c["measure"] == "final" and c["p"] is not None:
            print(f"rnndsl: {c['a']} vs {c['b']}: p = {c['p']:.4f}, d = {c['d']:+.2f}: "
                  + (f"real, {c['better']} is better" if c["real"] else "not shown"))
    names = [f"{p}" for p in ("report.md", "report.html", "curves.png") if (out / p).exists()]
    print(f"rnndsl: wrote {', '.join(str(out / n) for n in names)} in {time.perf_counter() - started:.1f} s")
    bad = [r for r in runs if r.status != "finished"]
    if bad:
        print("rnndsl: error: " + ", ".join(f"{r.spec.label} seed {r.seed} {r.status}" for r in bad)
              + "; the report counts only the finished runs", file=sys.stderr)
        return 1
    return 0
