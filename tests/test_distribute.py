"""Training on several workers with tf.distribute: two real worker processes over loopback against one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

pytestmark = pytest.mark.tf

SPEC = """model twoworkers
input x[t]: (3,)
target y: class(2)
h[t] = gru(x[t], 8)
y = h[last] | dense(2)
train { optimizer adam(lr=1e-2)  batch 16  epochs 2  seed 5 }
"""


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _weights(run: Path) -> list[np.ndarray]:
    import rnndsl.backends.keras.layers  # noqa: F401

    return [np.asarray(w) for w in keras.models.load_model(run / "model.keras").get_weights()]


def test_two_workers_train_what_one_worker_trains(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 9, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", x_train=x[:96], y_train=y[:96], x_test=x[96:], y_test=y[96:])
    (tmp_path / "s.rnn").write_text(SPEC)
    common = [sys.executable, "-m", "rnndsl", "compile", str(tmp_path / "s.rnn"), "--train", "--data",
              str(tmp_path / "d.npz"), "--no-summary"]
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    one = subprocess.run([*common, "--out", str(tmp_path / "one")], capture_output=True, text=True, env=env,
                         timeout=600)
    assert one.returncode == 0, one.stderr

    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        worker_env = {**env, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen([*common, "--strategy", "multiworker", "--out", str(tmp_path / "two")],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env))
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    assert json.loads((tmp_path / "two" / "manifest.json").read_text())["status"] == "finished"
    for a, b in zip(_weights(tmp_path / "one"), _weights(tmp_path / "two")):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)  # the same global batches; sums in another order


def test_multiworker_without_tf_config_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "s.rnn").write_text(SPEC)
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    proc = subprocess.run([sys.executable, "-m", "rnndsl", "compile", str(tmp_path / "s.rnn"), "--train", "--data",
                           "x.npz", "--strategy", "multiworker"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "TF_CONFIG" in proc.stderr
