"""A mutation fuzzer for the front end: any text must give a program or a SpecError, quickly.

    python scripts/fuzz.py --cases 100000 --seed 0 --jobs 2 [--save fuzz-crashes]

Each case takes a spec from specs/ (and its folders) or tests/errors/, applies a few random
mutations (delete, duplicate or swap tokens and lines, insert tokens of the language, replace
numbers with huge, negative, zero or float values, rename, splice lines of other specs, odd
characters) and runs `rnndsl.pipeline.analyse` on it in a worker process that has a memory cap
(RLIMIT_AS) and a per-case alarm.  Anything but a return or a SpecError is a crash, and so is
a case the alarm stops (a hang).  A case is generated from (seed, index) alone, so the parent
regenerates any case from its number; crashing inputs are saved under --save, with one
example per kind reduced to a minimal one.  Exit status 1 when any case crashed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLOW_S = 5.0  # a case over this is reported
TOKEN = re.compile(r'#[^\n]*|"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|@\w+|\.\.|==|!=|<=|>='
                   r'|\r?\n|[ \t]+|.', re.S)
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")

KEYWORDS = ["model", "about", "data", "steps", "init", "defaults", "layer", "train", "input", "target", "when",
            "otherwise", "and", "in", "t", "last"]
PUNCT = ["=", "|", "+", "-", "*", "(", ")", "[", "]", "{", "}", ",", "%", "..", "==", "!=", "<", "<=", ">", ">=",
         "@train", "@test", "\n", "#", '"', "\\\n", ";", ":", "."]
SNIPPETS = ["[t]", "[t-1]", "[t+1]", "[t-2]", "[last]", "[last-1]", "[0]", "[3]", "(image)", "image", "x[t]",
            "h[t-1]", "when t == 0", "otherwise", "when t % 2 == 0", "when t in {0, 2}", "when t > 1 and t < 3",
            "conv(8, 3)", "dense(10)", "concat(a, b)", "| gap", "| flatten", "| elu", "gru(x[t], 8)",
            "lstm(z[t], 4)", "row", "init h = learned", "init h = none", "steps 4", "data mnist", "data cifar10",
            "bias=false", "init=normal(0.05)", "padding=valid", "sigma=0..0.5", "p=0.5", "axis=0", "stride=2",
            "train { optimizer sgd(lr=0.1) batch 8 }", "layer K = conv(4, 1) | elu", "reshape(7, 7, 16)",
            "dropout(0.5)", "flip_lr @train", "softmax", "0.5", "-1", "1e-3", "input x[t]: (12,)",
            "input image: (28, 28, 1)", "target out: class", "target y[t]: real(1) loss=mae", "target out: labels(3)",
            ": (", "(12,)", "class(9)", "real", "loss=mse"]
KINDS = ["conv", "dense", "avgpool", "maxpool", "gap", "flatten", "reshape", "row", "concat", "add", "sub", "mul",
         "elu", "relu", "tanh", "sigmoid", "softmax", "linear", "dropout", "batchnorm", "standardize",
         "gaussian_noise", "poisson_noise", "uniform_noise", "flip_lr", "blur", "rnn", "gru", "lstm"]
NUMBERS = ["0", "1", "2", "3", "4", "7", "28", "-1", "-3", "0.5", "1.5", "1e-3", "1e3", "1e308", "1e999", "2.5e-7",
           "999", "9999", "10000", "10001", "65536", "65537", "100000", "2147483648", "9223372036854775808",
           "99999999999", "100000000000", "1" + "0" * 39, "1" + "0" * 45, "00", "0.0", "3.", ".5", "1e", "1..2",
           "\u0664", "\u0661\u0662", "\uff13", "\u00b2", "5" * 5000]
CHARS = ["\x00", "\r", "\t", "\x0c", "\x0b", "\\", '"', "#", "@", "{", "}", "(", ")", "[", "]", "\u00e9", "\u0445",
         "\u0664", "\u200b", "\ufeff", "\U0001f600", "\u2028", "\x85", " ", "\n", "'", "`", "$", "~", "^", "&", "!"]
MAX_TEXT = 200_000  # mutations never grow a case beyond this


def corpus() -> list[tuple[str, str]]:
    """The specs and error fixtures a case starts from: (relative path, text)."""
    paths = sorted((ROOT / "specs").rglob("*.rnn")) + sorted((ROOT / "tests" / "errors").glob("*.rnn"))
    return [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in paths]


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def _solid(toks: list[str]) -> list[int]:
    return [i for i, t in enumerate(toks) if not t.isspace()]


class Mutator:
    """Random edits of spec text, drawn from one random.Random."""

    def __init__(self, rng: random.Random, pool: list[tuple[str, str]]):
        self.rng = rng
        self.pool = pool
        self.names = sorted({t for _, text in pool for t in tokens(text) if NAME.match(t)})

    def vocab(self) -> str:
        r = self.rng.random()
        if r < 0.25:
            return self.rng.choice(KEYWORDS)
        if r < 0.5:
            return self.rng.choice(PUNCT)
        if r < 0.7:
            return self.rng.choice(SNIPPETS)
        if r < 0.85:
            return self.rng.choice(KINDS)
        if r < 0.95:
            return self.rng.choice(self.names)
        return self.rng.choice(NUMBERS)

    def number(self) -> str:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(NUMBERS)
        if r < 0.8:
            return str(self.rng.randint(0, 40))
        return str(10 ** self.rng.randint(2, 60) + self.rng.randint(-1, 1))

    def new_name(self, old: str) -> str:
        r = self.rng.random()
        if r < 0.4:
            return self.rng.choice(self.names)
        if r < 0.55:
            return self.rng.choice(KEYWORDS + KINDS)
        if r < 0.7:  # a typo
            if len(old) > 1:
                i = self.rng.randrange(len(old))
                return old[:i] + old[i + 1:]
            return old + old
        if r < 0.8:
            return old + self.rng.choice(["_", "2", "x", "\u00e9", "\u0664"])
        if r < 0.9:
            return self.rng.choice(["\u0441\u043e\u043b\u044c", "caf\u00e9", "_", "__", "x" * 300, "T", "Image",
                                    "t1", "last2", "in_", "and_"])
        return "".join(self.rng.choice("abcxyzhst_019") for _ in range(self.rng.randint(1, 6)))

    # ---- token edits ---------------------------------------------------------------------
    def delete_token(self, toks: list[str]) -> None:
        solid = _solid(toks)
        if solid:
            del toks[self.rng.choice(solid)]

    def duplicate_token(self, toks: list[str]) -> None:
        solid = _solid(toks)
        if solid:
            i = self.rng.choice(solid)
            toks.insert(i, toks[i] + self.rng.choice(["", " "]))

    def swap_tokens(self, toks: list[str]) -> None:
        solid = _solid(toks)
        if len(solid) > 1:
            i, j = self.rng.sample(solid, 2)
            if self.rng.random() < 0.5:  # a neighbour, more often meaningful
                k = solid.index(i)
                j = solid[min(k + 1, len(solid) - 1)]
            toks[i], toks[j] = toks[j], toks[i]

    def insert_token(self, toks: list[str]) -> None:
        i = self.rng.randrange(len(toks) + 1)
        pad = self.rng.choice(["", " "])
        toks.insert(i, pad + self.vocab() + pad)

    def replace_number(self, toks: list[str]) -> None:
        nums = [i for i, t in enumerate(toks) if NUMBER.match(t)]
        if nums:
            toks[self.rng.choice(nums)] = self.number()
        else:
            self.insert_token(toks)

    def rename(self, toks: list[str]) -> None:
        names = [i for i, t in enumerate(toks) if NAME.match(t)]
        if not names:
            return
        old = toks[self.rng.choice(names)]
        new = self.new_name(old)
        everywhere = self.rng.random() < 0.4
        for i in names:
            if toks[i] == old and (everywhere or self.rng.random() < 0.5):
                toks[i] = new

    def replace_token(self, toks: list[str]) -> None:
        solid = _solid(toks)
        if solid:
            toks[self.rng.choice(solid)] = self.vocab()

    # ---- line edits ------------------------------------------------------------------------
    def line_edit(self, text: str) -> str:
        lines = text.split("\n")
        r = self.rng.random()
        i = self.rng.randrange(len(lines))
        if r < 0.25:
            del lines[i]
        elif r < 0.45:
            lines.insert(i, lines[self.rng.randrange(len(lines))])
        elif r < 0.6:
            j = self.rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif r < 0.8:  # splice a line of another spec
            _, other = self.rng.choice(self.pool)
            lines.insert(i, self.rng.choice(other.split("\n")))
        elif r < 0.9:  # a guard on a stream line
            streams = [k for k, line in enumerate(lines) if "[t] =" in line]
            if streams:
                k = self.rng.choice(streams)
                guard = self.rng.choice(["when t == 0", "otherwise", "when t % 2 == 1", "when t in {1, 2}",
                                         "when t < 2 otherwise image", "when t >= 9999", "when t == 1 and t == 2",
                                         "when t % 0 == 0", "when t != 3", "when (t > 0)", "otherwise h[t-1]"])
                lines[k] = lines[k].split(" when ")[0].split(" otherwise")[0].split("#")[0] + " " + guard
        else:  # repeat a line
            lines[i:i + 1] = [lines[i]] * self.rng.randint(2, 40)
        return "\n".join(lines)

    def steps_edit(self, text: str) -> str:
        value = self.rng.choice(["0", "1", "2", "3", "5", "28", "29", "100", "1000", "10000", "10001", "-1", "2.5",
                                 "100000", "2147483648", "100000000000", "1" + "0" * 39])
        if re.search(r"^steps\b.*$", text, re.M):
            return re.sub(r"^steps\b.*$", f"steps {value}", text, count=1, flags=re.M)
        return f"steps {value}\n" + text

    def char_edit(self, text: str) -> str:
        i = self.rng.randrange(len(text) + 1)
        r = self.rng.random()
        if r < 0.6:
            return text[:i] + self.rng.choice(CHARS) + text[i:]
        if r < 0.8:
            return text[:i] + text[i + 1:]
        if r < 0.9:
            return text.replace("\n", "\r\n") if self.rng.random() < 0.5 else text.replace(" ", "\t")
        return text[:i]  # truncated

    def bomb(self, text: str) -> str:
        """A rare, large edit: deep brackets, long sums or pipes, many guards, a long list."""
        n = self.rng.choice([30, 63, 64, 65, 200, 257, 300])
        kind = self.rng.randrange(6)
        if kind == 0:
            line = "out = " + "(" * n + "image" + ")" * n + " | gap"
        elif kind == 1:
            line = "out = " + "tanh(" * n + "image" + ")" * n + " | conv(10, 1) | gap"
        elif kind == 2:
            line = "out = image" + " | elu" * n + " | conv(10, 1) | gap"
        elif kind == 3:
            line = "x = image" + " + image" * n
        elif kind == 4:
            line = "z[t] = image when " + " and ".join(["t >= 0"] * n)
        else:
            line = "z[t] = image when t in {" + ", ".join(str(k) for k in range(n)) + "}"
        lines = text.split("\n")
        lines.insert(self.rng.randrange(len(lines) + 1), line)
        return "\n".join(lines)

    def mutate(self, text: str) -> str:
        for _ in range(1 + min(int(self.rng.expovariate(0.7)), 7)):
            r = self.rng.random()
            if r < 0.5:
                toks = tokens(text)
                if not toks:
                    toks = [""]
                op = self.rng.choice([self.delete_token, self.duplicate_token, self.swap_tokens, self.insert_token,
                                      self.insert_token, self.replace_number, self.replace_number, self.rename,
                                      self.replace_token])
                op(toks)
                text = "".join(toks)
            elif r < 0.8:
                text = self.line_edit(text)
            elif r < 0.88:
                text = self.steps_edit(text)
            elif r < 0.97:
                text = self.char_edit(text)
            else:
                text = self.bomb(text)
            if len(text) > MAX_TEXT:
                text = text[:MAX_TEXT]
        return text


def make_case(pool: list[tuple[str, str]], mutator_names: Mutator | None, seed: int, index: int) -> tuple[str, str]:
    """Case `index` of a run: (the spec it started from, the mutated text)."""
    rng = random.Random(seed * 1_000_003 + index)
    m = mutator_names or Mutator(rng, pool)
    m.rng = rng
    origin, text = pool[rng.randrange(len(pool))]
    return origin, m.mutate(text)


# ---- running one case --------------------------------------------------------------------------
class _Alarm(BaseException):
    """The per-case time budget ran out."""


def _on_alarm(signum, frame):
    raise _Alarm()


@dataclass
class Outcome:
    index: int
    status: str  # ok, spec-error, crash
    seconds: float
    kind: str = ""  # crash: the exception type (Timeout for a case the alarm stopped)
    where: str = ""  # crash: the innermost rnndsl frame
    message: str = ""
    unlocated: tuple[str, ...] = ()  # codes of diagnostics without a place


def _where(tb) -> str:
    frames = [f for f in traceback.extract_tb(tb) if "rnndsl" in f.filename]
    if not frames:
        frames = traceback.extract_tb(tb)[-1:]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{os.path.relpath(f.filename, ROOT)}:{f.lineno} ({f.name})"


def run_case(text: str, timeout: float, index: int = -1) -> Outcome:
    """Analyse one text under the alarm; classify what happened."""
    from rnndsl.errors import SpecError
    from rnndsl.pipeline import analyse
    from rnndsl.syntax import parse, unparse

    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        try:
            analyse(text)
            status, unlocated = "ok", ()
            printed = unparse(parse(text))  # what passes must also round-trip through the printer
            if parse(printed) != parse(text):
                raise AssertionError("parse(unparse(spec)) != spec")
        except SpecError as err:
            if not err.diagnostics or not all(d.code and d.message for d in err.diagnostics):
                raise AssertionError("a SpecError without diagnostics, or one without a code or message")
            status = "spec-error"
            unlocated = tuple(sorted({d.code for d in err.diagnostics if not d.span.known}))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Alarm:
        return Outcome(index, "crash", time.perf_counter() - start, "Timeout", "", f"over {timeout:g} s")
    except BaseException as err:  # noqa: BLE001 - any other exception is what the fuzzer looks for
        if isinstance(err, KeyboardInterrupt):
            raise
        return Outcome(index, "crash", time.perf_counter() - start, type(err).__name__, _where(err.__traceback__),
                       str(err)[:300])
    return Outcome(index, status, time.perf_counter() - start, unlocated=unlocated)


def _limit_memory(mem_mb: int) -> None:
    try:
        import resource
        limit = mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on this platform
        pass


def _worker(wid: int, jobs: int, first: int, end: int, seed: int, timeout: float, mem_mb: int,
            conn: Connection) -> None:
    """Run cases first, first + jobs, ... < end and send one Outcome per case."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from rnndsl.syntax.parser import _parser

    _parser()  # build (or load) the parser tables before the clock and the memory cap start
    _limit_memory(mem_mb)
    signal.signal(signal.SIGALRM, _on_alarm)
    pool = corpus()
    mutator = Mutator(random.Random(0), pool)
    for i in range(first, end, jobs):
        _, text = make_case(pool, mutator, seed, i)
        conn.send(run_case(text, timeout, i))
    conn.send(None)


# ---- minimising an example -------------------------------------------------------------------------
def _same(text: str, kind: str, where: str, timeout: float) -> bool:
    out = run_case(text, timeout)
    return out.status == "crash" and out.kind == kind and (kind == "Timeout" or out.where == where)


def minimise(text: str, kind: str, where: str, timeout: float, budget_s: float = 60.0) -> str:
    """Delta debugging over lines, then tokens: a smaller text with the same crash."""
    deadline = time.monotonic() + budget_s
    for split in (lambda s: s.split("\n"), tokens):
        glue = "\n" if split is not tokens else ""
        parts = split(text)
        n = 2
        while len(parts) >= 2 and time.monotonic() < deadline:
            chunk = max(1, len(parts) // n)
            reduced = False
            for start in range(0, len(parts), chunk):
                if time.monotonic() >= deadline:
                    break
                trial = parts[:start] + parts[start + chunk:]
                if trial and _same(glue.join(trial), kind, where, timeout):
                    parts, n, reduced = trial, max(n - 1, 2), True
                    break
            if not reduced:
                if chunk == 1:
                    break
                n = min(len(parts), n * 2)
        text = glue.join(parts)
    return text


def _minimise_worker(text: str, kind: str, where: str, timeout: float, mem_mb: int, conn: Connection) -> None:
    _limit_memory(mem_mb)
    signal.signal(signal.SIGALRM, _on_alarm)
    conn.send(minimise(text, kind, where, timeout))


def minimise_in_child(text: str, kind: str, where: str, timeout: float, mem_mb: int, budget_s: float) -> str:
    """Minimise in a child process (the crash may take the process down); the input on any failure."""
    parent, child = Pipe(duplex=False)
    proc = Process(target=_minimise_worker, args=(text, kind, where, timeout, mem_mb, child), daemon=True)
    proc.start()
    child.close()
    result = text
    if parent.poll(budget_s + 4 * timeout + 10):
        try:
            result = parent.recv()
        except EOFError:
            pass
    proc.kill()
    proc.join()
    return result


# ---- the campaign ---------------------------------------------------------------------------------
@dataclass
class Crashes:
    """Crashes by kind: count, the smallest input seen, where it was raised."""

    count: dict[str, int] = field(default_factory=dict)
    example: dict[str, tuple[int, str, str, str]] = field(default_factory=dict)  # kind -> (index, text, where, msg)
    places: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, index: int, text: str, where: str, message: str) -> None:
        self.count[kind] = self.count.get(kind, 0) + 1
        self.places.setdefault(kind, set()).add(where)
        best = self.example.get(kind)
        if best is None or len(text) < len(best[1]):
            self.example[kind] = (index, text, where, message)


def _start(wid: int, jobs: int, first: int, end: int, args) -> tuple[Process, Connection]:
    parent, child = Pipe(duplex=False)
    proc = Process(target=_worker, args=(wid, jobs, first, end, args.seed, args.timeout, args.mem_mb, child),
                   daemon=True)
    proc.start()
    child.close()
    return proc, parent


def campaign(args) -> int:
    pool = corpus()
    mutator = Mutator(random.Random(0), pool)
    crashes = Crashes()
    save = Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    end = args.start + args.cases
    jobs = max(1, args.jobs)
    workers: dict[Connection, tuple[int, Process, int, float]] = {}  # conn -> (wid, proc, next case, since)
    for wid in range(jobs):
        proc, conn = _start(wid, jobs, args.start + wid, end, args)
        workers[conn] = (wid, proc, args.start + wid, time.monotonic())
    run = 0
    slow: list[tuple[float, int]] = []  # (seconds, case) over SLOW_S
    statuses: dict[str, int] = {}
    unlocated: dict[str, int] = {}
    slowest = (0.0, -1)
    saved = 0
    last_report = time.monotonic()

    def crash(kind: str, index: int, where: str, message: str) -> None:
        nonlocal saved
        origin, text = make_case(pool, mutator, args.seed, index)
        crashes.add(kind, index, text, where, message)
        if save and saved < args.save_max:
            saved += 1
            (save / f"case{index:07d}-{kind}.rnn").write_text(text, encoding="utf-8", errors="surrogateescape")

    while workers:
        ready = wait(list(workers), timeout=1.0)
        for conn in ready:
            wid, proc, nxt, _ = workers[conn]
            try:
                out = conn.recv()
            except (EOFError, OSError):  # the worker died (killed by the OS, a crash in C)
                del workers[conn]
                proc.join()
                run += 1
                statuses["crash"] = statuses.get("crash", 0) + 1
                crash(f"WorkerDied(exit {proc.exitcode})", nxt, "", "the worker process ended")
                if nxt + jobs < end:
                    p2, c2 = _start(wid, jobs, nxt + jobs, end, args)
                    workers[c2] = (wid, p2, nxt + jobs, time.monotonic())
                continue
            if out is None:
                del workers[conn]
                proc.join()
                continue
            run += 1
            statuses[out.status] = statuses.get(out.status, 0) + 1
            for code in out.unlocated:
                unlocated[code] = unlocated.get(code, 0) + 1
            if out.seconds > slowest[0]:
                slowest = (out.seconds, out.index)
            if out.seconds > SLOW_S and out.kind != "Timeout":
                slow.append((out.seconds, out.index))
            if out.status == "crash":
                crash(out.kind, out.index, out.where, out.message)
            workers[conn] = (wid, proc, out.index + jobs, time.monotonic())
        now = time.monotonic()
        for conn, (wid, proc, nxt, since) in list(workers.items()):
            if now - since > args.timeout + 30:  # the alarm could not stop it (stuck in C code)
                proc.kill()
                proc.join()
                del workers[conn]
                run += 1
                statuses["crash"] = statuses.get("crash", 0) + 1
                crash("Hang", nxt, "", f"no answer in {now - since:.0f} s")
                if nxt + jobs < end:
                    p2, c2 = _start(wid, jobs, nxt + jobs, end, args)
                    workers[c2] = (wid, p2, nxt + jobs, time.monotonic())
        if args.progress and now - last_report > args.progress:
            last_report = now
            print(f"  ... {run:,} cases, {sum(crashes.count.values())} crashes, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
    total = time.perf_counter() - started

    print(f"cases run: {run:,} (seed {args.seed}, cases {args.start}..{end - 1}, jobs {jobs})")
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))
    n_crash = sum(crashes.count.values())
    print(f"crashes: {n_crash}")
    for kind in sorted(crashes.count, key=lambda k: -crashes.count[k]):
        index, text, where, message = crashes.example[kind]
        print(f"  {kind}: {crashes.count[kind]} case(s); raised at {', '.join(sorted(crashes.places[kind])) or '?'}")
        print(f"    e.g. case {index}: {message}")
        if args.minimise:
            small = minimise_in_child(text, kind, where, args.timeout, args.mem_mb, args.minimise_s)
        else:
            small = text
        if save:
            (save / f"minimal-{kind}.rnn").write_text(small, encoding="utf-8", errors="surrogateescape")
        shown = small if len(small) < 2000 else small[:2000] + f"... ({len(small):,} characters)"
        print("    minimal example:")
        print("\n".join("      | " + line for line in shown.split("\n")))
    if unlocated:
        print("diagnostics without a place (by code, in cases): "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(unlocated.items())))
    print(f"cases over {SLOW_S:g} s (a hang aside): {len(slow)}"
          + (": " + ", ".join(f"case {i} {sec:.1f} s" for sec, i in sorted(slow, reverse=True)[:10]) if slow else ""))
    if save:
        for _, i in sorted(slow, reverse=True)[:10]:
            (save / f"slow-case{i:07d}.rnn").write_text(make_case(pool, mutator, args.seed, i)[1], encoding="utf-8",
                                                        errors="surrogateescape")
    print(f"slowest case: {slowest[0]:.3f} s (case {slowest[1]})")
    print(f"total time: {total:.1f} s")
    return 1 if n_crash else 0


def show(args) -> int:
    """Print one case's text (to reproduce it)."""
    pool = corpus()
    origin, text = make_case(pool, Mutator(random.Random(0), pool), args.seed, args.show)
    sys.stdout.write(f"# case {args.show} of seed {args.seed}, from {origin}\n{text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="cases to run (default 10,000)")
    ap.add_argument("--seed", type=int, default=0, help="the run's seed (cases are reproducible from it)")
    ap.add_argument("--start", type=int, default=0, help="the first case number")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds before a case counts as a hang")
    ap.add_argument("--mem-mb", type=int, default=2048, help="address-space cap per worker (MiB)")
    ap.add_argument("--save", metavar="DIR", help="save crashing inputs (and minimal ones) here")
    ap.add_argument("--save-max", type=int, default=200, help="crashing inputs to save at most")
    ap.add_argument("--no-minimise", dest="minimise", action="store_false", help="show crashes as found")
    ap.add_argument("--minimise-s", type=float, default=60.0, help="seconds to minimise each crash kind")
    ap.add_argument("--progress", type=float, default=0, metavar="S", help="print progress every S seconds")
    ap.add_argument("--show", type=int, metavar="N", help="print case N and exit")
    args = ap.parse_args(argv)
    if args.show is not None:
        return show(args)
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
