"""`rnndsl compare`: the statistics over seeds and the report (Markdown, HTML, curves, summary.json).

No TensorFlow and no argparse: the command (cli/compare.py) trains the runs; this module reads
their run folders and writes the report.  The statistics are implemented here with the standard
library (scipy is not a dependency):

* `betainc(a, b, x)`: the regularized incomplete beta function I_x(a, b), by its continued
  fraction (modified Lentz), as in Numerical Recipes, section 6.4;
* `t_cdf(t, df)` and `t_quantile(p, df)`: Student's t distribution (df may be fractional,
  as Welch's df is), the quantile by bisection on the CDF;
* `interval(values)`: the mean and its 95% confidence interval, mean +- t(0.975, n-1) s/sqrt(n);
* `welch(a, b)`: Welch's unequal-variance t test (two-sided p) and `cohen_d(a, b)`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .files import atomic_write
from .run_folder import RunFolderError, read_run_folder

__all__ = ["betainc", "t_cdf", "t_quantile", "interval", "welch", "cohen_d", "headline", "SpecRuns", "read_run",
           "summarize", "render_markdown", "render_html", "plot_curves", "write_report", "LEVEL", "ALPHA"]

LEVEL = 0.95  # the confidence level of the intervals
ALPHA = 0.05  # a difference is called real when Welch's p < ALPHA


# ---------------------------------------------------------------------------------- statistics

def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz), converging fast for x < (a+1)/(a+b+2)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),  # the even step, then the odd one
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError(f"the incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def betainc(a: float, b: float, x: float, y: float | None = None) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1.

    `y`, when given, is 1 - x computed without cancellation (the t distribution's x = df/(df+t^2)
    is close to 1 for a large df, where 1 - x would lose its digits)."""
    if not (a > 0 and b > 0):
        raise ValueError(f"betainc needs a, b > 0, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc needs 0 <= x <= 1, got {x}")
    y = 1.0 - x if y is None else y
    if x == 0.0 or y == 0.0:
        return 0.0 if x == 0.0 else 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y))
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, y) / b


def _t_tail2(t: float, df: float) -> float:
    """P(|T| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2), its complement passed exactly."""
    t2 = t * t
    return betainc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df degrees of freedom (df > 0, not necessarily whole)."""
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _t_tail2(t, df)  # P(T > |t|)
    return 1.0 - tail if t > 0 else tail


def t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|): the two-sided p-value of a t statistic."""
    if math.isinf(t):
        return 0.0
    return _t_tail2(t, df)


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (0 < p < 1), by bisection on `t_cdf` to full double precision."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
        if hi > 1e300:
            return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _mean_var(xs: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    mean = math.fsum(xs) / n
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else math.nan
    return mean, var


def interval(values: Sequence[float], level: float = LEVEL) -> dict[str, Any]:
    """Mean, sample standard deviation and the `level` confidence interval of the mean (Student t).

    With one value the interval is undefined (None); with none everything is None.
    """
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "lo": None, "hi": None, "t": None}
    mean, var = _mean_var(xs)
    if n == 1:
        return {"n": 1, "mean": mean, "sd": None, "lo": None, "hi": None, "t": None}
    sd = math.sqrt(var)
    t = t_quantile(0.5 + level / 2.0, n - 1)
    half = t * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "lo": mean - half, "hi": mean + half, "t": t}


def welch(a: Sequence[float], b: Sequence[float]) -> dict[str, Any] | None:
    """Welch's t test of mean(a) = mean(b): t, Welch-Satterthwaite df and the two-sided p.

    None when either sample has fewer than two values.  Two samples without spread: p = 1 when
    their means are equal, else 0 (t infinite).
    """
    if len(a) < 2 or len(b) < 2:
        return None
    ma, va = _mean_var([float(x) for x in a])
    mb, vb = _mean_var([float(x) for x in b])
    sa, sb = va / len(a), vb / len(b)
    se2 = sa + sb
    if se2 == 0.0:
        if ma == mb:
            return {"t": 0.0, "df": float(len(a) + len(b) - 2), "p": 1.0}
        return {"t": math.copysign(math.inf, ma - mb), "df": float(len(a) + len(b) - 2), "p": 0.0}
    t = (ma - mb) / math.sqrt(se2)
    df = se2 ** 2 / ((sa ** 2 / (len(a) - 1) if sa else 0.0) + (sb ** 2 / (len(b) - 1) if sb else 0.0))
    return {"t": t, "df": df, "p": t_two_sided(t, df)}


def cohen_d(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Cohen's d: (mean(a) - mean(b)) / the pooled standard deviation.  None below two values each."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, va = _mean_var([float(x) for x in a])
    mb, vb = _mean_var([float(x) for x in b])
    pooled = math.sqrt(((len(a) - 1) * va + (len(b) - 1) * vb) / (len(a) + len(b) - 2))
    if pooled == 0.0:
        return 0.0 if ma == mb else math.copysign(math.inf, ma - mb)
    return (ma - mb) / pooled


# ---------------------------------------------------------------------------------- run folders

_WORDS = {"loss": "loss", "acc": "accuracy", "mse": "MSE", "mae": "MAE", "binacc": "binary accuracy"}
_HIGHER = ("acc", "binacc")


def _suffix(metric: str) -> str:
    for word in sorted(_WORDS, key=len, reverse=True):
        if metric == word or metric.endswith("_" + word):
            return word
    return metric


def metric_label(metric: str) -> str:
    """'acc' -> 'accuracy', 'y_mse' -> 'y MSE'."""
    word = _suffix(metric)
    prefix = metric[: len(metric) - len(word)].rstrip("_")
    return (prefix + " " if prefix else "") + _WORDS.get(word, word)


def headline(metrics: Sequence[str]) -> dict[str, Any]:
    """The metric a comparison ranks by: the first after the loss (accuracy for class targets,
    MSE for real ones); the loss when there is none.  Returns its name, key, label and direction."""
    names = [m for m in metrics if m != "loss"] or ["loss"]
    name = names[0]
    higher = _suffix(name) in _HIGHER
    return {"name": name, "key": f"test_{name}", "label": f"test {metric_label(name)}", "higher_is_better": higher}


@dataclass
class SpecRuns:
    """One spec of a comparison and its run folders, one per seed."""

    label: str  # the name in the table and in run folder names
    path: str  # the spec file as given
    runs: list[tuple[int, Path]]  # (seed, run folder)
    title: str | None = None  # from the checked spec; else the runs' manifests
    parameters: int | None = None
    messages: dict[int, str] = field(default_factory=dict)  # seed -> why its run failed (from the command)
    statuses: dict[int, str] = field(default_factory=dict)  # seed -> diverged / failed, as the worker's exit said


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_run(folder: Path) -> dict[str, Any]:
    """What a comparison needs of one run folder: its manifest and its per-epoch records (or None)."""
    folder = Path(folder)
    try:  # (the one reader: a folder it refuses, damaged or of a newer format, counts as a failed run)
        manifest: dict | None = dict(read_run_folder(folder).manifest)
    except RunFolderError:
        manifest = None
    records = _read_json(folder / "metrics.json")
    if not isinstance(records, list):
        records = []
    return {"manifest": manifest, "records": records}


def _status(manifest: dict | None) -> str:
    if manifest is None:
        return "failed"
    status = manifest.get("status")
    if status == "running":
        return "incomplete"
    return status if status in ("finished", "diverged", "interrupted") else "failed"


def _best(values: list[float | None], higher: bool) -> tuple[float | None, int | None]:
    good = [(v, i + 1) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not good:
        return None, None
    pick = max if higher else min
    v, i = pick(good, key=lambda p: p[0])
    return v, i


def _run_summary(seed: int, folder: Path, root: Path, message: str | None, metric: dict | None,
                 said: str | None = None) -> dict[str, Any]:
    data = read_run(folder)
    manifest, records = data["manifest"], data["records"]
    status = _status(manifest)
    if said and said != "finished":  # the worker's exit code outranks a manifest it may not have rewritten
        status = said
    metrics = (manifest or {}).get("metrics") or ["loss"]
    metric = metric or headline(metrics)
    key = metric["key"]
    curves = {f"test_{m}": [r.get(f"test_{m}") for r in records] for m in metrics}
    final = ((manifest or {}).get("final") or {}).get(key)
    best, best_epoch = _best(curves.get(key, []), metric["higher_is_better"])
    try:
        rel = folder.relative_to(root).as_posix()
    except ValueError:
        rel = folder.as_posix()
    return {"seed": seed, "folder": rel, "status": status, "message": message,
            "metrics": list(metrics), "final": final, "best": best, "best_epoch": best_epoch,
            "epochs": (manifest or {}).get("epochs_done", len(records)),
            "seconds": round(math.fsum(float(r.get("seconds") or 0.0) for r in records), 3),
            "curves": curves}


def summarize(entries: Sequence[SpecRuns], root: Path, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every number of the report, JSON-ready: per spec its runs, the final and best headline
    metric's mean and interval over the finished runs, and the pairwise Welch tests."""
    root = Path(root)
    specs = []
    for entry in entries:
        manifests = [read_run(folder)["manifest"] for _, folder in entry.runs]
        known = [m for m in manifests if m and m.get("metrics")]
        metric = headline(known[0]["metrics"]) if known else None
        runs = [_run_summary(seed, folder, root, entry.messages.get(seed), metric, entry.statuses.get(seed))
                for seed, folder in entry.runs]
        if metric is None:
            metric = headline(["loss"])
        done = [r for r in runs if r["status"] == "finished" and r["final"] is not None]
        title = entry.title if entry.title is not None else next((m.get("title") for m in known if m.get("title")), None)
        params = entry.parameters if entry.parameters is not None else next(
            (m.get("parameters") for m in known if m.get("parameters") is not None), None)
        diagram = None
        for _, folder in entry.runs:
            for name in ("diagram.svg", "diagram.dot"):
                if (folder / name).is_file():
                    diagram = _rel(folder / name, root)
                    break
            if diagram:
                break
        specs.append({"label": entry.label, "path": entry.path, "title": title, "parameters": params,
                      "metric": metric, "diagram": diagram, "runs": runs,
                      "final": interval([r["final"] for r in done]),
                      "best": interval([r["best"] for r in done if r["best"] is not None])})
    comparisons = []
    for i, a in enumerate(specs):
        for b in specs[i + 1:]:
            if a["metric"]["key"] != b["metric"]["key"]:
                continue  # different targets: nothing to compare
            higher = a["metric"]["higher_is_better"]
            for measure in ("final", "best"):
                xa = [r[measure] for r in a["runs"] if r["status"] == "finished" and r[measure] is not None]
                xb = [r[measure] for r in b["runs"] if r["status"] == "finished" and r[measure] is not None]
                test = welch(xa, xb)
                diff = (math.fsum(xa) / len(xa) - math.fsum(xb) / len(xb)) if xa and xb else None
                real = None if test is None else test["p"] < ALPHA
                better = None
                if real and diff:
                    better = a["label"] if (diff > 0) == higher else b["label"]
                comparisons.append({"a": a["label"], "b": b["label"], "measure": measure,
                                    "metric": a["metric"]["name"], "n_a": len(xa), "n_b": len(xb), "diff": diff,
                                    "t": None if test is None else test["t"], "df": None if test is None else test["df"],
                                    "p": None if test is None else test["p"], "d": cohen_d(xa, xb), "real": real,
                                    "better": better})
    problems = [f"{s['label']} seed {r['seed']}: {r['status']}" + (f" ({r['message']})" if r["message"] else "")
                for s in specs for r in s["runs"] if r["status"] != "finished"]
    return {"settings": dict(settings or {}), "level": LEVEL, "alpha": ALPHA, "specs": specs,
            "comparisons": comparisons, "problems": problems}


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


# ---------------------------------------------------------------------------------- formatting

def _num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}f}"


def _signed(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else (f"{x:+.{digits}f}" if math.isfinite(x) else _num(x))


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _ci(stats: dict) -> str:
    if stats["lo"] is None:
        return "n/a (1 run)" if stats["n"] == 1 else "n/a"
    return f"[{_num(stats['lo'])}, {_num(stats['hi'])}]"


def _verdict(c: dict) -> str:
    if c["p"] is None:
        return "not tested (needs 2 finished runs each)"
    if c["real"]:
        return f"real: {c['better']} is better" if c["better"] else "real"
    return "not shown"


def _common_metric(summary: dict) -> dict | None:
    keys = {s["metric"]["key"] for s in summary["specs"]}
    return summary["specs"][0]["metric"] if len(keys) == 1 and summary["specs"] else None


def _runs_word(spec: dict) -> str:
    counts: dict[str, int] = {}
    for r in spec["runs"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    order = ["finished", "diverged", "interrupted", "incomplete", "failed"]
    return ", ".join(f"{counts[k]} {k}" for k in order if k in counts)


def _settings_line(settings: dict) -> str:
    parts = []
    seeds = settings.get("seeds")
    if seeds is not None:
        parts.append(f"{len(seeds)} seed(s) ({', '.join(str(s) for s in seeds)})")
    if "data" in settings:
        parts.append(f"data {settings['data']}" if settings["data"] else "data from each spec's data line")
    for key, word in (("data_dir", "data dir"), ("window", "window")):
        if settings.get(key) is not None:
            parts.append(f"{word} {settings[key]}")
    if settings.get("limit") is not None:
        parts.append(f"the first {settings['limit']} training examples")
    for key, word in (("epochs", "epochs"), ("batch_size", "batch"), ("lr", "learning rate")):
        if key in settings:
            parts.append(f"{word} {settings[key]}" if settings[key] is not None
                         else f"{word} from each spec's train block")
    if settings.get("backend"):
        parts.append(f"the {settings['backend']} backend")
    return "; ".join(parts)


def _interval_note(summary: dict) -> str:
    ns = sorted({s["final"]["n"] for s in summary["specs"] if s["final"]["n"] >= 2})
    lines = [f"Intervals are {int(summary['level'] * 100)}% confidence intervals of the mean over the finished "
             f"runs (seeds): mean +- t s / sqrt(n), with Student's t quantile for n - 1 degrees of freedom."]
    if ns:
        qs = ", ".join(f"n = {n}: t = {t_quantile(0.5 + summary['level'] / 2, n - 1):.3f}" for n in ns)
        lines.append(f"Here {qs}.")
        if 2 in ns:
            lines.append("With 2 seeds the interval is 12.7 times as wide as the gap between the two runs: wide by "
                         "construction, and it may leave the metric's range (an accuracy below 0).")
        lines.append("The quantile falls quickly with more seeds: 4.303 with 3, 2.776 with 5, 2.262 with 10.")
    if any(s["final"]["n"] < 2 for s in summary["specs"]):
        lines.append("A spec with fewer than two finished runs has no interval and is not tested.")
    return " ".join(lines)


def _tests_note(summary: dict) -> str:
    a = summary["alpha"]
    return (f"Each pair of specs is compared with Welch's t test (unequal variances; two-sided p) on the final "
            f"and on the best value of the headline metric, and Cohen's d (the difference of the means over the "
            f"pooled standard deviation; the sign is that of the first spec minus the second). A difference is "
            f"called real when p < {a:g}; 'not shown' means these seeds cannot tell the specs apart, not that they "
            f"are equal. With few seeds most differences are not shown: the test has almost no power with 2 "
            f"or 3 runs per spec, and even a large d can come out with p > {a:g}. With many pairs some "
            f"p < {a:g} appear by chance (no correction for multiple comparisons is applied). The seeds vary "
            f"the initial weights, the shuffling and the random transforms; every run sees the same training and "
            f"test data, so the intervals leave out the variation a different data sample would bring.")


def render_markdown(summary: dict, curves: str | None = "curves.png") -> str:
    """The report as Markdown.  User strings (titles, labels, paths) are escaped."""
    md = _md
    specs = summary["specs"]
    common = _common_metric(summary)
    out = [f"# rnndsl compare: {' vs '.join(md(s['label']) for s in specs)}", ""]
    if summary["settings"]:
        out += [f"Settings: {md(_settings_line(summary['settings']))}.", ""]
    if common:
        out += [f"Headline metric: **{md(common['label'])}** "
                f"({'higher' if common['higher_is_better'] else 'lower'} is better).", ""]
    else:
        out += ["The specs have different targets: each row gives its own headline metric; only specs with the "
                "same metric are compared.", ""]
    out += ["## Results", ""]
    head = ["spec", "title", "parameters", "runs"] + ([] if common else ["metric"]) + [
        "final: mean", f"final: {int(summary['level'] * 100)}% interval", "best: mean",
        f"best: {int(summary['level'] * 100)}% interval"]
    out += ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if h in ("parameters",) or "mean" in h else "---"
                                                         for h in head) + "|"]
    for s in specs:
        row = [md(s["label"]), md(s["title"] or ""), _count(s["parameters"]), md(_runs_word(s))]
        if not common:
            row.append(md(s["metric"]["label"]) + (" (higher is better)" if s["metric"]["higher_is_better"]
                                                   else " (lower is better)"))
        row += [_num(s["final"]["mean"]), _ci(s["final"]), _num(s["best"]["mean"]), _ci(s["best"])]
        out.append("| " + " | ".join(row) + " |")
    out += ["", _interval_note(summary), ""]
    if summary["problems"]:
        out += ["**Runs not counted** (not finished; they are left out of the means and tests):", ""]
        out += [f"* {md(p)}" for p in summary["problems"]] + [""]
    out += ["## Differences", ""]
    if summary["comparisons"]:
        out += ["| comparison | measure | difference | t | df | p | Cohen's d | verdict |",
                "|---|---|---:|---:|---:|---:|---:|---|"]
        for c in summary["comparisons"]:
            out.append(f"| {md(c['a'])} - {md(c['b'])} | {c['measure']} {md(metric_label(c['metric']))} | "
                       f"{_signed(c['diff'])} | {_num(c['t'], 2)} | {_num(c['df'], 1)} | {_p(c['p'])} | "
                       f"{_signed(c['d'], 2)} | {md(_verdict(c))} |")
    else:
        out.append("Nothing to compare (one spec, or specs with different targets).")
    out += ["", _tests_note(summary), ""]
    if curves:
        out += ["## Learning curves", "",
                "Test metrics per epoch: the line is the mean over the finished runs, the band spans the lowest to "
                "the highest run (with one epoch: a bar).", "", f"![learning curves]({curves})", ""]
    out += ["## Specs", ""]
    for s in specs:
        out += [f"### {md(s['label'])}", "",
                f"`{_code(s['path'])}`" + (f": {md(s['title'])}" if s["title"] else "") + f"; "
                f"{_count(s['parameters'])} parameters.", ""]
        if s["diagram"]:
            link = _url(s["diagram"])
            if s["diagram"].endswith(".svg"):
                out += [f"![diagram of {md(s['label'])}]({link})", ""]
            else:
                out += [f"Diagram (DOT; Graphviz was not installed): [{md(s['diagram'])}]({link})", ""]
    out += ["## Runs", "", "| run | seed | status | final | best (epoch) | epochs | training s |",
            "|---|---:|---|---:|---:|---:|---:|"]
    for s in specs:
        for r in s["runs"]:
            status = r["status"] + (f": {r['message']}" if r["message"] else "")
            best = _num(r["best"]) + (f" ({r['best_epoch']})" if r["best_epoch"] else "")
            out.append(f"| [{md(r['folder'])}]({_url(r['folder'])}/manifest.json) | {r['seed']} | {md(status)} | "
                       f"{_num(r['final'])} | {best} | {r['epochs']} | {r['seconds']:.1f} |")
    out += ["", "Every number above is read from the run folders' `manifest.json` (final) and `metrics.json` "
                "(best); `summary.json` holds them unrounded.", ""]
    return "\n".join(out)


def _count(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def _md(text: Any) -> str:
    """A user string made inert in Markdown: HTML escaped, Markdown's markup characters backslashed
    (an underscore only where it could start or end emphasis: inside a word it cannot)."""
    s = html.escape(" ".join(str(text).split()), quote=False)
    out = []
    for i, ch in enumerate(s):
        if ch == "_":
            before = s[i - 1] if i else " "
            after = s[i + 1] if i + 1 < len(s) else " "
            out.append("\\_" if not (before.isalnum() and after.isalnum()) else ch)
        else:
            out.append("\\" + ch if ch in "\\`*[]|" else ch)
    return "".join(out)


def _code(text: str) -> str:
    return " ".join(str(text).split()).replace("`", "'")


def _url(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/._-")


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.real { color: #0a6b1f; font-weight: 600; } .not { color: #777; }
.bad { color: #b00020; font-weight: 600; }
.note { color: #444; font-size: 0.92rem; max-width: 60rem; }
img.curves { max-width: 100%; border: 1px solid #eee; }
img.diagram { max-width: 100%; background: white; }
code { background: #f5f5f5; padding: 0 0.2rem; }
""".strip()


def render_html(summary: dict, png: bytes | None, root: Path | None = None, embed_limit: int = 4_000_000) -> str:
    """The report as one self-contained HTML file: inline CSS, the curves PNG and the SVG diagrams
    embedded as data: URIs (an <img> never runs a script inside an SVG).  Every user string is escaped."""
    e = lambda x: html.escape(str(x), quote=True)  # noqa: E731
    specs = summary["specs"]
    common = _common_metric(summary)
    level = int(summary["level"] * 100)
    title = "rnndsl compare: " + " vs ".join(s["label"] for s in specs)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    if summary["settings"]:
        out.append(f"<p>Settings: {e(_settings_line(summary['settings']))}.</p>")
    if common:
        out.append(f"<p>Headline metric: <b>{e(common['label'])}</b> "
                   f"({'higher' if common['higher_is_better'] else 'lower'} is better).</p>")
    else:
        out.append("<p>The specs have different targets: each row gives its own headline metric; only specs with "
                   "the same metric are compared.</p>")
    out.append("<h2>Results</h2><table><tr><th>spec</th><th>title</th><th>parameters</th><th>runs</th>"
               + ("" if common else "<th>metric</th>")
               + f"<th>final: mean</th><th>final: {level}% interval</th><th>best: mean</th>"
                 f"<th>best: {level}% interval</th></tr>")
    for s in specs:
        bad = any(r["status"] != "finished" for r in s["runs"])
        out.append(f"<tr><td>{e(s['label'])}</td><td>{e(s['title'] or '')}</td><td class=n>{_count(s['parameters'])}</td>"
                   f"<td{' class=bad' if bad else ''}>{e(_runs_word(s))}</td>"
                   + ("" if common else f"<td>{e(s['metric']['label'])} "
                                         f"({'higher' if s['metric']['higher_is_better'] else 'lower'} is better)</td>")
                   + f"<td class=n>{_num(s['final']['mean'])}</td><td class=n>{e(_ci(s['final']))}</td>"
                     f"<td class=n>{_num(s['best']['mean'])}</td><td class=n>{e(_ci(s['best']))}</td></tr>")
    out.append(f"</table><p class=note>{e(_interval_note(summary))}</p>")
    if summary["problems"]:
        out.append("<p class=bad>Runs not counted (not finished; left out of the means and tests):</p><ul>"
                   + "".join(f"<li>{e(p)}</li>" for p in summary["problems"]) + "</ul>")
    out.append("<h2>Differences</h2>")
    if summary["comparisons"]:
        out.append("<table><tr><th>comparison</th><th>measure</th><th>difference</th><th>t</th><th>df</th><th>p</th>"
                   "<th>Cohen's d</th><th>verdict</th></tr>")
        for c in summary["comparisons"]:
            cls = "real" if c["real"] else "not"
            out.append(f"<tr><td>{e(c['a'])} &minus; {e(c['b'])}</td><td>{e(c['measure'])} "
                       f"{e(metric_label(c['metric']))}</td><td class=n>{_signed(c['diff'])}</td>"
                       f"<td class=n>{_num(c['t'], 2)}</td><td class=n>{_num(c['df'], 1)}</td>"
                       f"<td class=n>{e(_p(c['p']))}</td><td class=n>{_signed(c['d'], 2)}</td>"
                       f"<td class={cls}>{e(_verdict(c))}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>Nothing to compare (one spec, or specs with different targets).</p>")
    out.append(f"<p class=note>{e(_tests_note(summary))}</p>")
    if png:
        out.append("<h2>Learning curves</h2><p class=note>Test metrics per epoch: the line is the mean over the "
                   "finished runs, the band spans the lowest to the highest run (with one epoch: a bar).</p>"
                   f'<img class=curves alt="learning curves" src="data:image/png;base64,'
                   f'{base64.b64encode(png).decode("ascii")}">')
    out.append("<h2>Specs</h2>")
    for s in specs:
        out.append(f"<h3>{e(s['label'])}</h3><p><code>{e(s['path'])}</code>"
                   + (f": {e(s['title'])}" if s["title"] else "") + f"; {_count(s['parameters'])} parameters.</p>")
        if s["diagram"]:
            src = _rel_or_data(s["diagram"], root, embed_limit)
            if s["diagram"].endswith(".svg"):
                out.append(f'<details open><summary>diagram</summary><img class=diagram alt="diagram of '
                           f'{e(s["label"])}" src="{e(src)}"></details>')
            else:
                out.append(f'<p>Diagram (DOT; Graphviz was not installed): <a href="{e(_url(s["diagram"]))}">'
                           f'{e(s["diagram"])}</a></p>')
    out.append("<h2>Runs</h2><table><tr><th>run</th><th>seed</th><th>status</th><th>final</th><th>best (epoch)</th>"
               "<th>epochs</th><th>training s</th></tr>")
    for s in specs:
        for r in s["runs"]:
            status = r["status"] + (f": {r['message']}" if r["message"] else "")
            best = _num(r["best"]) + (f" ({r['best_epoch']})" if r["best_epoch"] else "")
            out.append(f'<tr><td><a href="{e(_url(r["folder"]))}/manifest.json">{e(r["folder"])}</a></td>'
                       f"<td class=n>{r['seed']}</td><td{'' if r['status'] == 'finished' else ' class=bad'}>"
                       f"{e(status)}</td><td class=n>{_num(r['final'])}</td><td class=n>{e(best)}</td>"
                       f"<td class=n>{r['epochs']}</td><td class=n>{r['seconds']:.1f}</td></tr>")
    out.append("</table><p class=note>Every number above is read from the run folders' <code>manifest.json</code> "
               "(final) and <code>metrics.json</code> (best); <code>summary.json</code> holds them unrounded.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _rel_or_data(rel: str, root: Path | None, limit: int) -> str:
    """A data: URI of the SVG when it can be read and is not huge; else the relative link."""
    if root is not None:
        try:
            data = (Path(root) / rel).read_bytes()
        except OSError:
            data = None
        if data is not None and len(data) <= limit:
            return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
    return _url(rel)


def plot_curves(summary: dict) -> bytes | None:
    """One PNG: a panel per test metric (the loss first), a mean line and a min-max band per spec."""
    import numpy as np
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    specs = summary["specs"]
    panels: list[str] = []
    for s in specs:
        for r in s["runs"]:
            for m in r["metrics"]:
                if m not in panels:
                    panels.append(m)
    panels.sort(key=lambda m: m != "loss")  # the loss first, then the metrics in order
    has_data = any(r["status"] == "finished" and any(r["curves"].values()) for s in specs for r in s["runs"])
    if not panels or not has_data:
        return None
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    colours = plt.get_cmap("tab10").colors
    max_epochs = 1
    for ax, m in zip(axes.flat, panels):
        key = f"test_{m}"
        for i, s in enumerate(specs):
            series = [r["curves"].get(key) or [] for r in s["runs"] if r["status"] == "finished"]
            series = [[math.nan if v is None else float(v) for v in c] for c in series if c]
            if not series:
                continue
            n = max(len(c) for c in series)
            max_epochs = max(max_epochs, n)
            arr = np.full((len(series), n), np.nan)
            for j, c in enumerate(series):
                arr[j, : len(c)] = c
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean, lo, hi = np.nanmean(arr, 0), np.nanmin(arr, 0), np.nanmax(arr, 0)
            colour = colours[i % len(colours)]
            label = f"{s['label']} ({len(series)} run{'s' if len(series) != 1 else ''})"
            epochs = np.arange(1, n + 1, dtype=float)
            if n == 1:  # one epoch: a point and a bar, side by side so they do not hide each other
                x = epochs + (i - (len(specs) - 1) / 2) * 0.08
                ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="o", color=colour, capsize=6, ms=7, lw=2,
                            label=label)
            else:
                ax.plot(epochs, mean, "-", color=colour, lw=2, label=label, marker="o" if n <= 30 else None, ms=3)
                ax.fill_between(epochs, lo, hi, color=colour, alpha=0.2, lw=0)
        ax.set_title(f"test {metric_label(m)}", fontsize=12)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if max_epochs == 1:
            ax.set_xlim(0.5, 1.5)
            ax.set_xticks([1])
        else:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=9, loc="best")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("test metrics per epoch: mean over the seeds (line or dot); band or bar: lowest to highest run",
                 fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def write_report(out: Path, entries: Sequence[SpecRuns], settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summarize the runs and write OUT/report.md, report.html, curves.png and summary.json, each
    through a temporary name and a rename.  Returns the summary."""
    out = Path(out)
    summary = summarize(entries, out, settings)
    png = plot_curves(summary)
    if png is not None:
        atomic_write(out / "curves.png", png)
    atomic_write(out / "summary.json",
                 (json.dumps(_finite(summary), indent=1, allow_nan=False, default=_json_default) + "\n").encode("utf-8"))
    atomic_write(out / "report.md", render_markdown(summary, "curves.png" if png else None).encode("utf-8"))
    atomic_write(out / "report.html", render_html(summary, png, out).encode("utf-8"))
    return summary


def _finite(x: Any) -> Any:
    """JSON has no NaN or Infinity: an infinite t or d (runs without spread) is written as a string."""
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _json_default(x: Any) -> Any:
    if isinstance(x, Path):
        return x.as_posix()
    raise TypeError(f"not JSON: {type(x).__name__}")
