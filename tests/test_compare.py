"""`rnndsl compare`: the statistics, the report from run folders, reuse and resume, and one real comparison."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_DIR, ROOT
from rnndsl.cli import main
from rnndsl.training.compare import (SpecRuns, betainc, cohen_d, headline, interval, render_html, render_markdown,
                                     read_run, summarize, t_cdf, t_quantile, welch, write_report)

VANILLA = ROOT / "specs" / "vanilla.rnn"
LAG2 = ROOT / "specs" / "lag2.rnn"


# ---------------------------------------------------------------------------------- statistics

@pytest.mark.parametrize("p,df,expected", [
    (0.975, 1, 12.70620474), (0.975, 2, 4.30265273), (0.975, 3, 3.18244631), (0.975, 10, 2.22813885),
    (0.975, 30, 2.04227246), (0.995, 5, 4.03214298), (0.95, 3, 2.35336343), (0.975, 1e7, 1.95996422),
])
def test_t_quantiles_match_the_tables(p: float, df: float, expected: float) -> None:
    # R's qt(p, df) to 8 decimals (the textbook tables: 12.706, 4.303, 3.182, 2.228, 2.042, 4.032, 2.353, 1.960;
    # at df = 1e7 the normal's 1.95996398 plus (z^3 + z) / (4 df) = 2.4e-7)
    assert t_quantile(p, df) == pytest.approx(expected, abs=2e-8)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, abs=2e-8)
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-11)  # lgamma cancels at df 1e7: 3e-12


def test_incomplete_beta_against_closed_forms() -> None:
    assert betainc(2, 3, 0.5) == pytest.approx(11 / 16, abs=1e-14)  # P(Binomial(4, 1/2) >= 2)
    rng = np.random.default_rng(0)
    for x in rng.uniform(0, 1, 20):
        assert betainc(1, 1, x) == pytest.approx(x, abs=1e-14)
        assert betainc(3.5, 1, x) == pytest.approx(x ** 3.5, abs=1e-13)
        assert betainc(0.5, 0.5, x) == pytest.approx(2 / math.pi * math.asin(math.sqrt(x)), abs=1e-13)
        a, b = rng.uniform(0.2, 40, 2)
        assert betainc(a, b, x) + betainc(b, a, 1 - x) == pytest.approx(1.0, abs=1e-12)
    assert betainc(2, 2, 0.0) == 0.0 and betainc(2, 2, 1.0) == 1.0
    with pytest.raises(ValueError):
        betainc(0, 1, 0.5)


def test_t_cdf_against_closed_forms() -> None:
    for t in (-30.0, -2.5, -0.3, 0.0, 0.7, 4.0, 100.0):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-13)  # Cauchy
        assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-13)
    assert t_cdf(2.228138852, 10) == pytest.approx(0.975, abs=1e-9)


def _t_tail_by_integration(t: float, df: float) -> float:
    """2 P(T > |t|), by the trapezoid rule over the density: an independent check of the beta route."""
    x = np.linspace(abs(t), 4000.0, 8_000_001)
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    return float(2 * np.trapezoid(c * (1 + x * x / df) ** (-(df + 1) / 2), x))


def test_welch_known_example() -> None:
    # R: t.test(1:5, c(2, 4, 6, 8, 10)) -> t = -1.8974, df = 5.8824, p-value = 0.1075
    w = welch([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert w["t"] == pytest.approx(-1.8973666, abs=1e-7)
    assert w["df"] == pytest.approx(5.8823529, abs=1e-7)
    assert w["p"] == pytest.approx(0.1075312, abs=1e-7)
    assert w["p"] == pytest.approx(_t_tail_by_integration(w["t"], w["df"]), abs=1e-8)


def test_welch_separates_clearly_different_samples_and_not_identical_ones() -> None:
    assert welch([0.91, 0.92, 0.93, 0.925], [0.81, 0.82, 0.83, 0.815])["p"] < 0.01
    same = welch([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert same["p"] == 1.0 and same["t"] == 0.0
    assert welch([1, 1], [1, 1])["p"] == 1.0  # no spread, same means
    assert welch([1, 1], [2, 2])["p"] == 0.0  # no spread, different means
    assert welch([1.0], [2.0, 3.0]) is None  # one value: no variance, no test
    equal_var = welch([1, 2, 3], [4, 5, 6])
    assert equal_var["df"] == pytest.approx(4.0)  # equal sizes and variances: the pooled df


def test_cohen_d_and_interval() -> None:
    assert cohen_d([1, 2, 3], [4, 5, 6]) == pytest.approx(-3.0)
    assert cohen_d([4, 5, 6], [1, 2, 3]) == pytest.approx(3.0)
    assert cohen_d([1], [2, 3]) is None
    ci = interval([1, 2, 3])
    assert (ci["mean"], ci["sd"], ci["n"]) == (2.0, 1.0, 3)
    assert ci["hi"] - ci["mean"] == pytest.approx(4.30265273 / math.sqrt(3), abs=1e-8)
    two = interval([0.1, 0.2])  # two seeds: t = 12.706, the interval is 12.7 times the gap
    assert two["hi"] - two["lo"] == pytest.approx(12.70620474 * 0.1, abs=1e-8)
    assert interval([0.5])["lo"] is None and interval([])["mean"] is None


def test_headline_metric_follows_the_target() -> None:
    assert headline(["loss", "acc"]) == {"name": "acc", "key": "test_acc", "label": "test accuracy",
                                         "higher_is_better": True}
    mse = headline(["loss", "mse", "mae"])
    assert mse["key"] == "test_mse" and mse["label"] == "test MSE" and not mse["higher_is_better"]
    assert headline(["loss", "y_binacc"])["higher_is_better"]
    assert headline(["loss"])["key"] == "test_loss"


# ---------------------------------------------------------------------------------- report from run folders

def _fake_run(folder: Path, *, spec: str, seed: int, curve: list[float], metrics=("loss", "acc"),
              status: str = "finished", title: str = "A title", parameters: int = 1000, extra: dict | None = None) -> None:
    """A run folder as `rnndsl compile --train` writes it (the files compare reads), without TensorFlow."""
    folder.mkdir(parents=True)
    records = []
    for e, v in enumerate(curve, 1):
        rec = {"epoch": e, "seconds": 1.5}
        for m in metrics:
            value = v if m == metrics[1] else (2.0 - v if m == "loss" else v * 0.5)
            rec[f"train_{m}"], rec[f"test_{m}"] = value, value
        records.append(rec)
    manifest = {"spec": spec, "title": title, "status": status, "parameters": parameters, "seed": seed,
                "metrics": list(metrics), "epochs_done": len(records), "final": records[-1] if records else None,
                **(extra or {})}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "spec.rnn").write_text(f"model {spec}\n")
    (folder / "metrics.json").write_text(json.dumps(records))
    (folder / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>d</text></svg>')


def _entries(root: Path, curves: dict[str, list[list[float]]], **kw) -> list[SpecRuns]:
    entries = []
    for label, per_seed in curves.items():
        runs = []
        for seed, curve in enumerate(per_seed):
            folder = root / "runs" / f"{label}-seed{seed}"
            _fake_run(folder, spec=label, seed=seed, curve=curve, **kw)
            runs.append((seed, folder))
        entries.append(SpecRuns(label, f"specs/{label}.rnn", runs))
    return entries


def test_a_run_folder_the_reader_refuses_counts_as_failed(tmp_path: Path) -> None:
    # compare reads run folders through the one reader: a manifest of a newer format is not guessed at
    folder = tmp_path / "runs" / "x-seed0"
    _fake_run(folder, spec="x", seed=0, curve=[0.5, 0.6], extra={"format": 99})
    assert read_run(folder)["manifest"] is None
    _fake_run(tmp_path / "runs" / "y-seed0", spec="y", seed=0, curve=[0.5, 0.6])
    assert read_run(tmp_path / "runs" / "y-seed0")["manifest"]["status"] == "finished"


def test_report_from_run_folders(tmp_path: Path) -> None:
    curves = {"plain": [[0.80, 0.85, 0.84], [0.81, 0.86, 0.86], [0.79, 0.84, 0.85]],
              "fancy": [[0.90, 0.95, 0.94], [0.91, 0.96, 0.96], [0.92, 0.95, 0.955]]}
    entries = _entries(tmp_path, curves)
    summary = write_report(tmp_path, entries, {"seeds": [0, 1, 2], "epochs": 3, "data": "mnist"})
    for name in ("report.md", "report.html", "curves.png", "summary.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    plain, fancy = summary["specs"]
    assert [r["final"] for r in plain["runs"]] == [0.84, 0.86, 0.85]  # the manifests' final records
    assert [r["best"] for r in fancy["runs"]] == [0.95, 0.96, 0.955]  # max over epochs of metrics.json
    assert [r["best_epoch"] for r in fancy["runs"]] == [2, 2, 3]
    assert plain["final"]["mean"] == pytest.approx(0.85)
    assert plain["final"]["hi"] - plain["final"]["mean"] == pytest.approx(4.30265273 * 0.01 / math.sqrt(3), abs=1e-8)
    assert plain["parameters"] == 1000 and plain["title"] == "A title"
    final = [c for c in summary["comparisons"] if c["measure"] == "final"][0]
    assert final["a"] == "plain" and final["real"] and final["better"] == "fancy" and final["p"] < 0.01
    assert final["diff"] == pytest.approx(0.85 - (0.94 + 0.96 + 0.955) / 3)
    assert json.loads((tmp_path / "summary.json").read_text())["specs"][0]["runs"][0]["final"] == 0.84

    md = (tmp_path / "report.md").read_text()
    assert "| plain | A title | 1,000 | 3 finished | 0.8500 | [0.8252, 0.8748] |" in md
    assert "95% interval" in md and "test accuracy** (higher is better)" in md
    assert "real: fancy is better" in md and "Welch" in md and "Cohen's d" in md
    assert "![learning curves](curves.png)" in md
    assert "![diagram of plain](runs/plain-seed0/diagram.svg)" in md
    for r in plain["runs"] + fancy["runs"]:
        assert f"| {r['final']:.4f} |" in md

    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert 'src="data:image/png;base64,' in page and 'src="data:image/svg+xml;base64,' in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_two_seeds_say_the_interval_is_wide_and_few_differences_are_real(tmp_path: Path) -> None:
    entries = _entries(tmp_path, {"a": [[0.80], [0.82]], "b": [[0.83], [0.86]]})
    summary = write_report(tmp_path, entries)
    md = (tmp_path / "report.md").read_text()
    assert "12.706" in md and "wide by construction" in md
    assert "With few seeds most differences are not shown" in md
    assert summary["comparisons"][0]["real"] is False and "not shown" in md


def test_html_and_markdown_escape_a_hostile_title(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script> <img src=x onerror=alert(1)> | *bold* [a](javascript:b) `c`'
    entries = _entries(tmp_path, {"evil": [[0.5], [0.6]], "good": [[0.5], [0.6]]}, title=hostile)
    entries[0].path = "specs/<b>evil</b>.rnn"
    write_report(tmp_path, entries)
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and "<img src=x" not in page and "<b>evil" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    md = (tmp_path / "report.md").read_text()
    assert "<script" not in md and "<img" not in md and "&lt;script&gt;" in md
    assert "\\| \\*bold\\* \\[a\\](javascript:b) \\`c\\`" in md  # the table keeps its columns
    row = next(line for line in md.splitlines() if line.startswith("| evil |"))
    assert row.count(" | ") == 7  # eight cells: the escaped pipe made no extra column


def test_regression_report_lower_is_better(tmp_path: Path) -> None:
    curves = {"worse": [[0.50, 0.40, 0.45], [0.52, 0.41, 0.44], [0.49, 0.42, 0.46]],
              "better": [[0.30, 0.20, 0.21], [0.31, 0.19, 0.22], [0.29, 0.21, 0.20]]}
    entries = _entries(tmp_path, curves, metrics=("loss", "mse", "mae"))
    summary = write_report(tmp_path, entries)
    worse, better = summary["specs"]
    assert worse["metric"]["key"] == "test_mse" and not worse["metric"]["higher_is_better"]
    assert [r["best"] for r in worse["runs"]] == [0.40, 0.41, 0.42]  # the minimum, not the maximum
    assert [r["final"] for r in better["runs"]] == [0.21, 0.22, 0.20]
    final = [c for c in summary["comparisons"] if c["measure"] == "final"][0]
    assert final["real"] and final["better"] == "better" and final["diff"] > 0 and final["d"] > 0
    md = (tmp_path / "report.md").read_text()
    assert "test MSE** (lower is better)" in md and "real: better is better" in md
    assert (tmp_path / "curves.png").stat().st_size > 10_000  # three panels: loss, MSE, MAE


def test_diverged_and_failed_runs_are_reported_not_dropped(tmp_path: Path) -> None:
    entries = _entries(tmp_path, {"a": [[0.8], [0.82], [0.81]], "b": [[0.7], [0.72]]})
    bad = tmp_path / "runs" / "b-seed2"
    _fake_run(bad, spec="b", seed=2, curve=[0.1], status="diverged")
    entries[1].runs.append((2, bad))
    entries[1].runs.append((3, tmp_path / "runs" / "b-seed3"))  # never written
    entries[1].messages[3] = "usage or data error: rnndsl: error: no data"
    summary = write_report(tmp_path, entries)
    b = summary["specs"][1]
    assert [r["status"] for r in b["runs"]] == ["finished", "finished", "diverged", "failed"]
    assert b["final"]["n"] == 2  # only the finished runs are counted
    md = (tmp_path / "report.md").read_text()
    assert "| b | A title | 1,000 | 2 finished, 1 diverged, 1 failed |" in md
    assert "b seed 2: diverged" in md and "b seed 3: failed (usage or data error" in md


def test_specs_with_different_targets_are_not_compared(tmp_path: Path) -> None:
    cls = _entries(tmp_path, {"cls": [[0.8], [0.9]]})
    reg = _entries(tmp_path, {"reg": [[0.3], [0.2]]}, metrics=("loss", "mse", "mae"))
    summary = summarize(cls + reg, tmp_path)
    assert summary["comparisons"] == []
    md = render_markdown(summary)
    assert "different targets" in md and "Nothing to compare" in md
    assert "<html" in render_html(summary, None)


# ---------------------------------------------------------------------------------- the command, without training

def _settings(spec: Path, seed: int, epochs: int = 1) -> dict:
    from rnndsl.cli.common import load
    from rnndsl.training.config import run_config

    analysed, _ = load(str(spec))
    return asdict(run_config(analysed.train, epochs=epochs, seed=seed))


def _fake_compile(out: Path, spec: Path, seed: int, acc: float, status: str = "finished", epochs: int = 1,
                  done: int = 1, limit: int = 200) -> Path:
    """A run folder exactly as `compile --train --data synthetic --limit 200 --epochs 1 --seed K` leaves it."""
    from rnndsl.pipeline import analyse
    from rnndsl.training.binding import recorded

    folder = out / "runs" / f"{spec.stem}-seed{seed}"
    text = spec.read_text(encoding="utf-8")
    extra = {"spec_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
             "settings": _settings(spec, seed, epochs), "format": 2, "lowering": "unrolled",
             "bindings": recorded(analyse(text).checked.program),
             "data_args": {"data": "synthetic", "data_dir": None, "window": None, "limit": limit}}
    _fake_run(folder, spec=spec.stem, seed=seed, curve=[acc] * done, status=status, extra=extra)
    (folder / "spec.rnn").write_text(text, encoding="utf-8")
    return folder


ARGS = ["--seeds", "2", "--epochs", "1", "--limit", "200", "--data", "synthetic"]


def test_finished_runs_are_reused_without_training(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmp"
    for spec, accs in ((VANILLA, (0.81, 0.83)), (LAG2, (0.85, 0.86))):
        for seed, acc in enumerate(accs):
            _fake_compile(out, spec, seed, acc)
    started = time.perf_counter()
    assert main(["compare", str(VANILLA), str(LAG2), *ARGS, "--out", str(out)]) == 0
    assert time.perf_counter() - started < 30
    printed = capsys.readouterr().out
    assert printed.count(": reused (finished earlier)") == 4 and "[3/4] lag2 seed 0: reused" in printed
    assert "test accuracy 0.8500" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert [r["final"] for s in summary["specs"] for r in s["runs"]] == [0.81, 0.83, 0.85, 0.86]
    assert summary["specs"][0]["parameters"] == 1042  # from the checked spec
    assert summary["settings"]["seeds"] == [0, 1]


def test_a_diverged_run_is_kept_reported_and_exits_1(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmp"
    _fake_compile(out, VANILLA, 0, 0.8)
    _fake_compile(out, VANILLA, 1, 0.1, status="diverged")
    assert main(["compare", str(VANILLA), *ARGS, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "diverged earlier" in captured.out and "vanilla seed 1 diverged" in captured.err
    assert "1 finished, 1 diverged" in (out / "report.md").read_text()


def test_runs_with_other_settings_are_never_touched(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmp"
    folder = _fake_compile(out, VANILLA, 0, 0.8, limit=500)
    before = (folder / "manifest.json").read_text()
    assert main(["compare", str(VANILLA), *ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "trained with other settings" in err and "limit 500, not 200" in err
    assert (folder / "manifest.json").read_text() == before
    assert not (out / "report.md").exists()


def _plan(out: Path, spec: Path, epochs: int = 1, backend: str = "tensorflow"):
    from rnndsl.cli import compare as C

    args = argparse.Namespace(specs=[str(spec)], seeds=1, epochs=epochs, batch_size=None, lr=None, data="synthetic",
                              data_dir=None, window=None, limit=200, jobs=1, out=str(out), backend=backend)
    return C, args, C._plan(args, C._validate(args), out)


def test_killed_runs_are_resumed_and_shorter_ones_extended(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    folder = _fake_compile(out, VANILLA, 0, 0.5, status="interrupted", epochs=3, done=1)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "state.json").write_text("{}")
    C, args, [run] = _plan(out, VANILLA, epochs=3)
    assert run.action == "resume"
    cmd = C._command(args, run)
    assert cmd[3:] == ["compile", "--resume", str(folder), "--epochs", "3", "--no-summary", "--backend", "tensorflow"]

    (folder / "manifest.json").write_text((folder / "manifest.json").read_text().replace('"interrupted"', '"finished"'))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["settings"]["epochs"] = 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert _plan(out, VANILLA, epochs=3)[2][0].action == "extend"
    assert _plan(out, VANILLA, epochs=1)[2][0].action == "reused"

    (folder / "checkpoints" / "state.json").unlink()  # killed before its first checkpoint: started again
    manifest["status"] = "running"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    C, args, [run] = _plan(out, VANILLA, epochs=3)
    assert run.action == "train" and not folder.exists()
    cmd = C._command(args, run)
    assert cmd[3:6] == ["compile", str(VANILLA), "--train"]
    assert cmd[cmd.index("--seed") + 1] == "0" and cmd[cmd.index("--data") + 1] == "synthetic"
    assert cmd[cmd.index("--out") + 1] == str(folder) and "--no-summary" in cmd
    assert cmd[cmd.index("--backend") + 1] == "tensorflow"


def test_the_backend_reaches_every_worker_and_a_run_on_another_one_is_never_touched(tmp_path: Path,
                                                                                     capsys) -> None:
    out = tmp_path / "cmp"
    C, args, [run] = _plan(out, VANILLA, backend="jax")
    cmd = C._command(args, run)
    assert cmd[cmd.index("--backend") + 1] == "jax"
    folder = _fake_compile(out, VANILLA, 0, 0.8)  # a folder from before backends were recorded: tensorflow
    before = (folder / "manifest.json").read_text()
    assert main(["compare", str(VANILLA), *ARGS[2:], "--seeds", "1", "--backend", "torch", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "trained with other settings" in err and "backend 'tensorflow', not 'torch'" in err
    assert (folder / "manifest.json").read_text() == before
    assert main(["compare", str(VANILLA), *ARGS[2:], "--seeds", "1", "--out", str(out)]) == 0  # tensorflow: reused
    assert "reused (finished earlier)" in capsys.readouterr().out


def test_usage_errors_exit_2_and_spec_errors_exit_1_before_anything_is_written(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cmp"
    proc = subprocess.run([sys.executable, "-m", "rnndsl", "compare", "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2  # no spec
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(VANILLA), "--seeds", "0", "--out", str(out)])
    assert exc.value.code == 2
    assert main(["compare", str(VANILLA), str(tmp_path / "nope.rnn"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = ROOT / "tests" / "errors" / "typo_name.rnn"
    assert main(["compare", str(VANILLA), str(bad), *ARGS, "--out", str(out)]) == 1
    assert "unknown stream 'hiden'" in capsys.readouterr().err
    assert main(["compare", str(VANILLA), str(VANILLA), *ARGS, "--out", str(out)]) == 2  # listed twice
    assert not out.exists()  # nothing was written for any of these
    (tmp_path / "file").write_text("x")
    assert main(["compare", str(VANILLA), *ARGS, "--out", str(tmp_path / "file")]) == 2
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["compare", str(VANILLA), *ARGS, "--out", str(other)]) == 2
    assert "not a comparison folder" in capsys.readouterr().err
    assert main(["compare", str(VANILLA), "--out", str(out)]) == 2  # mnist (the spec's data line), no --data-dir
    assert "--data-dir" in capsys.readouterr().err
    assert main(["compare", str(VANILLA), "--data", "mnist", "--out", str(out)]) == 2  # no --data-dir


def test_labels_are_distinct_and_folder_safe(tmp_path: Path) -> None:
    from rnndsl.cli.compare import _labels

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "net.rnn").write_text("")
    (tmp_path / "we ird$.rnn").write_text("")
    labels = _labels([str(tmp_path / "a" / "net.rnn"), str(tmp_path / "b" / "net.rnn"), str(tmp_path / "we ird$.rnn")])
    assert labels == ["a-net", "b-net", "we_ird"]


# ---------------------------------------------------------------------------------- one real comparison

@pytest.mark.tf
@pytest.mark.skipif(not MNIST_DIR.exists(), reason="no ../shared/data/mnist")
@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="TensorFlow is not installed")
def test_compare_trains_reports_and_reuses(tmp_path: Path) -> None:
    """Four real runs, one worker at a time (this process never imports TensorFlow itself)."""
    out = tmp_path / "cmp"
    cmd = [sys.executable, "-m", "rnndsl", "compare", "specs/vanilla.rnn", "specs/lag2.rnn", "--seeds", "2",
           "--epochs", "1", "--limit", "200", "--data", "mnist", "--data-dir", os.path.relpath(MNIST_DIR, ROOT),
           "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": finished: test accuracy") == 4 and "[4/4]" in proc.stdout
    for name in ("report.md", "report.html", "curves.png", "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    md = (out / "report.md").read_text()
    assert "95% interval" in md
    for spec in summary["specs"]:
        finals = []
        for run in spec["runs"]:
            manifest = json.loads((out / run["folder"] / "manifest.json").read_text())
            assert manifest["status"] == "finished" and manifest["seed"] == run["seed"]
            assert run["final"] == manifest["final"]["test_acc"]  # exactly the run folder's number
            assert f"| {manifest['final']['test_acc']:.4f} |" in md
            finals.append(manifest["final"]["test_acc"])
        assert spec["parameters"] == manifest["parameters"]
        assert spec["final"]["mean"] == pytest.approx(sum(finals) / len(finals), abs=1e-15)
        assert f"| {spec['final']['mean']:.4f} |" in md
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/manifest.json")}

    started = time.perf_counter()
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count(": reused (finished earlier)") == 4 and time.perf_counter() - started < 30
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/manifest.json")} == stamps
    assert json.loads((out / "summary.json").read_text())["specs"] == summary["specs"]


# ---------------------------------------------------------------------------------- the worker pool, with fake workers

_WORKER = r'''
import json, signal, sys, time
from pathlib import Path

folder, mode, stamps = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
seed = int(folder.name.rsplit("seed", 1)[1])
def note(what):
    with open(stamps, "a") as fh:
        fh.write(f"{what} {time.monotonic():.3f} {folder.parent.name}/{folder.name}\n")
note("start")
if mode == "wait":  # a long run: stop at SIGINT as compile does (a checkpoint, then exit 130)
    signal.signal(signal.SIGINT, lambda *a: (note("sigint"), sys.exit(130)))
    time.sleep(60)
    sys.exit(0)
time.sleep(0.8)
if mode == "diverge":
    print("rnndsl: error: training diverged: the loss became nan at epoch 1, step 3")
    sys.exit(4)
if mode == "fail":
    print("rnndsl: error: mnist: train-images-idx3-ubyte.gz is truncated")
    sys.exit(2)
folder.mkdir(parents=True)
rec = {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.0, "test_acc": 0.5 + seed / 10, "seconds": 0.8}
(folder / "manifest.json").write_text(json.dumps({"status": "finished", "metrics": ["loss", "acc"], "final": rec,
                                                  "epochs_done": 1, "seed": seed, "parameters": 7}))
(folder / "spec.rnn").write_text("model fake\n")
(folder / "metrics.json").write_text(json.dumps([rec]))
note("end")
'''


def _fake_workers(tmp_path: Path, modes: dict[str, str]):
    """A `_command` that starts the fake worker instead of `rnndsl compile` (mode by run name, default ok)."""
    script, stamps = tmp_path / "worker.py", tmp_path / "stamps.txt"
    script.write_text(_WORKER)

    def command(args, run):
        return [sys.executable, str(script), str(run.folder), modes.get(run.name, "ok"), str(stamps)]

    return command, stamps


def test_jobs_run_in_parallel_and_failures_are_named(tmp_path: Path, monkeypatch, capsys) -> None:
    from rnndsl.cli import compare as C

    command, stamps = _fake_workers(tmp_path, {"lag2-seed1": "diverge", "lag2-seed2": "fail"})
    monkeypatch.setattr(C, "_command", command)
    out = tmp_path / "cmp"
    started = time.perf_counter()
    code = main(["compare", str(VANILLA), str(LAG2), "--seeds", "3", "--data", "synthetic", "--jobs", "3",
                 "--out", str(out)])
    wall = time.perf_counter() - started
    captured = capsys.readouterr()
    assert code == 1
    assert "lag2 seed 1 diverged, lag2 seed 2 failed" in captured.err
    assert "[5/6] lag2 seed 1: diverged" in captured.out
    assert "[6/6] lag2 seed 2: FAILED (usage or data error: rnndsl: error: mnist: train-images" in captured.out
    assert captured.out.count(": finished: test accuracy") == 4
    starts = sorted(float(line.split()[1]) for line in stamps.read_text().splitlines() if line.startswith("start"))
    assert len(starts) == 6 and starts[2] - starts[0] < 0.7  # three at a time, not one after another
    assert wall < 6 * 0.8
    assert "truncated" in (out / "logs" / "lag2-seed2.log").read_text()
    md = (out / "report.md").read_text()
    assert "| lag2 | Lag-2 RNN on MNIST (post 1, case e) | 1,067 | 1 finished, 1 diverged, 1 failed |" in md
    assert "| vanilla | Vanilla conv-RNN on MNIST (post 1, case a) | 1,042 | 3 finished | 0.6000 |" in md


def test_ctrl_c_stops_every_worker_once_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    script, stamps = tmp_path / "worker.py", tmp_path / "stamps.txt"
    script.write_text(_WORKER)
    code = ("import sys\nfrom rnndsl.cli import compare as C, main\n"
            f"C._command = lambda args, run: [sys.executable, {str(script)!r}, str(run.folder), 'wait', {str(stamps)!r}]\n"
            f"sys.exit(main(['compare', {str(VANILLA)!r}, '--seeds', '3', '--data', 'synthetic', '--jobs', '2', "
            f"'--out', {str(out)!r}]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stamps.exists() and stamps.read_text().count("start") == 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = stamps.read_text().splitlines()
    assert sum(x.startswith("start") for x in lines) == 2  # the third never started
    assert sum(x.startswith("sigint") for x in lines) == 2  # each worker got exactly one SIGINT
    assert "run the same command again to continue" in err
    assert not (out / "report.md").exists()
