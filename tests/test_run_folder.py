"""The one run-folder reader (training/run_folder.py): a versioned manifest, every piece checked, no TensorFlow.

The folders here are written by hand as `rnndsl compile` writes them (format 2) and as it wrote them
before the manifest was numbered (format 1); the round trip through the writer is in test_runs.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from rnndsl.cli import main
from rnndsl.semantics.symbols import Bindings
from rnndsl.training.run_folder import FORMAT, RunFolderError, read_run_folder

SPEC = "model s\ninput x[t]: (2,)\ntarget y: real(1)\nh[t] = gru(x[t], 4)\ny = dense(h[last], 1)\n"
BINDINGS = {"steps": 6, "masked": True, "shapes": {"x": [2]}, "sizes": {"y": 1}}


def _folder(path: Path, **manifest) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "spec.rnn").write_text(SPEC)
    base = {"format": FORMAT, "status": "finished", "epochs_done": 1, "bindings": BINDINGS, "lowering": "looped",
            "settings": {"batch": 8, "epochs": 1, "seed": 0},
            "data_args": {"data": "d.npz", "data_dir": None, "window": None, "limit": None}}
    base.update(manifest)
    (path / "manifest.json").write_text(json.dumps({k: v for k, v in base.items() if v is not ...}))
    return path


def _refused(folder: Path, need=()) -> str:
    with pytest.raises(RunFolderError) as err:
        read_run_folder(folder, need)
    return str(err.value)


def test_a_format_2_folder_reads_whole(tmp_path: Path) -> None:
    run = _folder(tmp_path / "run")
    (run / "weights.npz").write_bytes(b"")
    saved = read_run_folder(run, ("weights",))
    assert saved.format == 2 and saved.spec_text == SPEC and saved.lowering == "looped"
    assert saved.bindings == Bindings(6, {"x": (2,)}, {"y": 1}, True)
    assert saved.weights == run / "weights.npz" and saved.checkpoint is None
    assert saved.data_args.data == "d.npz" and saved.settings["batch"] == 8 and saved.status == "finished"


def test_an_old_folder_without_a_format_number_reads_as_format_1(tmp_path: Path) -> None:
    old = {k: v for k, v in BINDINGS.items() if k != "masked"}  # format 1 kept masking with the dataset
    run = _folder(tmp_path / "old", format=..., lowering=..., bindings=old, dataset={"masked": True})
    saved = read_run_folder(run)
    assert saved.format == 1 and saved.lowering is None and saved.bindings.masked is True
    bare = _folder(tmp_path / "older", format=..., lowering=..., bindings=..., data_args=...)
    saved = read_run_folder(bare)
    assert saved.bindings is None and saved.data_args.data is None


@pytest.mark.parametrize("change,words", [
    ({"format": 3}, "its manifest has format 3; this rnndsl reads formats 1 to 2"),
    ({"format": "2"}, "format '2'"),
    ({"bindings": ...}, "format 2 but no 'bindings'"),
    ({"lowering": ...}, "format 2 but no 'lowering'"),
    ({"lowering": "sideways"}, "'lowering' is 'sideways'"),
    ({"bindings": {**BINDINGS, "steps": "six"}}, "damaged: 'bindings': 'steps' is 'six'"),
    ({"bindings": {**BINDINGS, "masked": "yes"}}, "'masked' is 'yes', not true or false"),
    ({"data_args": {"limit": -1}}, "'limit' is -1"),
    ({"settings": [1]}, "'settings' is [1], not an object"),
])
def test_a_damaged_or_unknown_manifest_is_refused_saying_what(tmp_path: Path, change: dict, words: str) -> None:
    assert words in _refused(_folder(tmp_path / "run", **change))


def test_missing_pieces_are_named(tmp_path: Path) -> None:
    assert "no such run folder" in _refused(tmp_path / "none")
    (tmp_path / "file").write_text("x")
    assert "is a file, not a run folder" in _refused(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    assert "not a run folder (it has no manifest.json)" in _refused(tmp_path / "empty")
    run = _folder(tmp_path / "run")
    assert "the run folder has no weights.npz" in _refused(run, ("weights",))
    assert "has no checkpoints/state.json; nothing to continue from" in _refused(run, ("checkpoint",))
    (run / "manifest.json").write_text("{not json")
    assert "manifest.json: not valid JSON" in _refused(run)
    (run / "manifest.json").write_text("[1, 2]")
    assert "not a run manifest" in _refused(run)
    run = _folder(tmp_path / "nospec")
    (run / "spec.rnn").unlink()
    assert "the run folder has no spec.rnn" in _refused(run)
    (run / "spec.rnn").write_bytes(b"model s\n\xff")
    assert "spec.rnn:2: not UTF-8 text" in _refused(run)


def test_commands_refuse_a_bad_run_folder_in_one_line_before_tensorflow(tmp_path: Path) -> None:
    newer = _folder(tmp_path / "newer", format=FORMAT + 1)
    (newer / "weights.npz").write_bytes(b"")
    (newer / "checkpoints").mkdir()
    (newer / "checkpoints" / "state.json").write_text("{}")
    plain = _folder(tmp_path / "plain")
    for argv, words in ((["export", str(newer), "-o", str(tmp_path / "x")], f"has format {FORMAT + 1}"),
                        (["export", str(plain), "-o", str(tmp_path / "x")], "has no weights.npz"),
                        (["compile", "--resume", str(newer)], f"has format {FORMAT + 1}"),
                        (["compile", "--resume", str(plain)], "nothing to continue from")):
        proc = subprocess.run([sys.executable, "-m", "rnndsl", *argv], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert "importing TensorFlow" not in proc.stdout


def test_compare_never_touches_a_folder_it_cannot_read(tmp_path: Path, capsys) -> None:
    vanilla = ROOT / "specs" / "vanilla.rnn"
    folder = _folder(tmp_path / "cmp" / "runs" / "vanilla-seed0", format=FORMAT + 1)
    before = (folder / "manifest.json").read_text()
    assert main(["compare", str(vanilla), "--seeds", "1", "--data", "synthetic", "--out", str(tmp_path / "cmp")]) == 2
    assert f"has format {FORMAT + 1}" in capsys.readouterr().err
    assert (folder / "manifest.json").read_text() == before and (folder / "spec.rnn").exists()


def _sequences(path: Path, steps: int) -> None:
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(24, steps, 2)).astype("float32")
    lengths = rng.integers(2, steps + 1, size=24).astype("int32")
    for i, n in enumerate(lengths):
        xs[i, n:] = 0.0
    ys = xs[:, :, :1].sum(1)
    np.savez(path, x_train=xs[:16], y_train=ys[:16], lengths_train=lengths[:16], x_test=xs[16:], y_test=ys[16:],
             lengths_test=lengths[16:])


@pytest.mark.tf
def test_what_compile_writes_the_reader_reads_and_resume_holds_the_data_to_it(tmp_path: Path, capsys) -> None:
    pytest.importorskip("tensorflow")
    spec, data, run = tmp_path / "s.rnn", tmp_path / "d.npz", tmp_path / "run"
    spec.write_text(SPEC + "train { epochs 1  batch 8 }\n")
    _sequences(data, 6)
    assert main(["compile", str(spec), "--train", "--data", str(data), "--out", str(run), "--no-summary"]) == 0
    saved = read_run_folder(run, ("weights", "checkpoint"))
    assert saved.format == FORMAT and saved.lowering == "unrolled" and saved.spec_text == spec.read_text()
    assert saved.bindings == Bindings(6, {"x": (2,)}, {"y": 1}, True)
    assert saved.data_args.data == str(data) and saved.status == "finished"
    _sequences(data, 7)  # the data file changed since: the checkpoint's model is not the one it binds now
    assert main(["compile", "--resume", str(run), "--epochs", "2", "--no-summary"]) == 2
    err = capsys.readouterr().err
    assert "the data binds differently from when the run started (steps 6 then, 7 now)" in err
    assert read_run_folder(run).epochs_done == 1
