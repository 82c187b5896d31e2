"""Runs that survive faults: SIGKILL and resume (on every backend), a diverging run, a second Ctrl-C, nothing overwritten."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from conftest import MNIST_DIR, ROOT, need_backend  # noqa: E402

pytestmark = [pytest.mark.tf, pytest.mark.skipif(not MNIST_DIR.exists(), reason="no ../shared/data/mnist")]
VANILLA = str(ROOT / "specs" / "vanilla.rnn")  # it draws Gaussian noise: the random state must resume too
ARGS = ["--train", "--data", "mnist", "--data-dir", str(MNIST_DIR), "--limit", "3000", "--epochs", "2",
        "--checkpoint-every", "4", "--seed", "3", "--no-summary"]


def _compile(*argv: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rnndsl", "compile", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _weights(run: Path) -> list[np.ndarray]:
    import rnndsl.backends.keras.layers  # noqa: F401  (registers the custom layers)

    return [w.numpy() if hasattr(w, "numpy") else np.asarray(w)
            for w in keras.models.load_model(run / "model.keras").weights]


def _state(run: Path) -> dict | None:
    try:
        return json.loads((run / "checkpoints" / "state.json").read_text())
    except (OSError, ValueError):
        return None


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_sigkill_mid_epoch_then_resume_gives_the_uninterrupted_run(tmp_path: Path, backend: str) -> None:
    need_backend(backend)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    args = [*ARGS, "--backend", backend]
    proc = _compile(VANILLA, *args, "--out", str(whole))
    assert proc.wait(timeout=600) == 0, proc.stderr.read()

    proc = _compile(VANILLA, *args, "--out", str(killed))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # kill it once a checkpoint from inside epoch 2 exists
        state = _state(killed)
        if state and state["epoch"] == 2 and state["step"] > 0:
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = _state(killed)
    assert state["epoch"] == 2 and state["step"] > 0
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "running" and manifest["epochs_done"] == 1  # what a kill leaves: a valid folder

    resumed = _compile("--resume", str(killed))
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert "resuming" in out
    for a, b in zip(_weights(whole), _weights(killed)):
        np.testing.assert_array_equal(a, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(json.loads((whole / "metrics.json").read_text())) == \
        strip(json.loads((killed / "metrics.json").read_text()))
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["backend"] == backend


def test_a_diverging_run_stops_names_the_step_and_keeps_a_good_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _compile(VANILLA, *ARGS, "--lr", "1e6", "--out", str(run))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 4, err
    assert "training diverged" in err and ("nan" in err or "inf" in err) and "step" in err
    assert f"--resume {run} --lr" in err
    manifest = json.loads((run / "manifest.json").read_text())  # strict JSON: no NaN anywhere
    assert manifest["status"] == "diverged"
    json.loads((run / "metrics.json").read_text())
    state = _state(run)
    if state is not None:  # a checkpoint saved before the blow-up holds finite weights only
        with np.load(run / "checkpoints" / state["checkpoint"]) as z:
            assert any(name.startswith("model/") for name in z.files)
            for name in z.files:
                if z[name].dtype.kind == "f":
                    assert np.isfinite(z[name]).all(), name


def test_sigterm_saves_where_it_stood_and_the_folder_is_complete(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _compile(VANILLA, *ARGS[:-5], "--epochs", "50", "--seed", "3", "--no-summary", "--out", str(run))
    deadline = time.monotonic() + 600
    while _state(run) is None and time.monotonic() < deadline:
        assert proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and (run / "model.keras").exists()
    assert f"--resume {run}" in err


def test_the_run_folder_holds_tensorboard_scalars_hparams_and_the_graph(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rnndsl.cli import main

    run = tmp_path / "run"
    assert main(["compile", VANILLA, *ARGS[:-5], "--epochs", "2", "--seed", "3", "--no-summary",
                 "--out", str(run)]) == 0
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    tags = events.Tags()
    assert {"loss/train", "loss/test", "acc/train", "acc/test", "hparams"} <= set(tags["tensors"])
    assert tags["graph"]
    assert [e.step for e in events.Tensors("acc/test")] == [1, 2]


def test_ctrl_c_between_checkpoints_then_resume_gives_the_uninterrupted_run(tmp_path: Path) -> None:
    args = [*ARGS[:-3], "--seed", "4", "--no-summary", "--batch-size", "50"]  # no step checkpoints
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    proc = _compile(VANILLA, *args, "--out", str(whole))
    assert proc.wait(timeout=600) == 0, proc.stderr.read()
    proc = _compile(VANILLA, *args, "--out", str(stopped))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # epoch 1 done: Ctrl-C lands somewhere inside epoch 2
        state = _state(stopped)
        if state and state["epoch"] == 2:
            break
        assert proc.poll() is None, "the run ended before it could be stopped"
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    resumed = _compile("--resume", str(stopped))
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    for a, b in zip(_weights(whole), _weights(stopped)):
        np.testing.assert_array_equal(a, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(json.loads((whole / "metrics.json").read_text())) == \
        strip(json.loads((stopped / "metrics.json").read_text()))
