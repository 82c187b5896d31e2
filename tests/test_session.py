"""The one build sequence (training/session.py): analyse, bind the data, analyse again, prepare, build.

The first four import no TensorFlow; `build` is tested where it runs (marked `tf`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from rnndsl.data import DataSet, Split
from rnndsl.pipeline import analyse
from rnndsl.semantics.symbols import Bindings
from rnndsl.training.config import ConfigError, run_config
from rnndsl.training.session import bind_spec, checker, prepare_spec

SEQ = "model s\ninput x[t]: (2,)\ntarget y: real(1)\nh[t] = gru(x[t], 4)\ny = dense(h[last], 1)\n"
BACKWARD = ("model b\ninput x[t]: (2,)\ntarget y[t]: real(1)\nh[t] = tanh(dense(x[t], 4) + dense(h[t+1], 4))\n"
            "y[t] = dense(h[t], 1)\n")


def _data(steps: int, lengths=None, per_step: bool = False) -> DataSet:
    x = np.zeros((8, steps, 2), np.float32)
    y = np.zeros((8, steps, 1) if per_step else (8, 1), np.float32)
    split = Split({"x": x}, {"y": y}, None if lengths is None else np.asarray(lengths, np.int32))
    return DataSet("d", "d.npz", split, split)


def test_the_data_completes_the_spec_and_masking_comes_with_it() -> None:
    seen = []

    def check(bindings, note=""):
        seen.append((bindings, note))
        return analyse(SEQ, bindings)

    bound = bind_spec(check, _data(7, lengths=[7, 3, 5, 7, 2, 7, 7, 1]))
    assert bound.program.steps == 7 and bound.program.masked and bound.data.train.lengths is not None
    assert seen[0] == (None, "") and seen[1][0].masked and "with the data d.npz" in seen[1][1]
    known = bind_spec(checker(SEQ), bindings=Bindings(steps=5, masked=True))  # a run folder's bindings
    assert known.program.steps == 5 and known.program.masked and known.data is None
    first = analyse(SEQ)
    assert bind_spec(checker(SEQ), first=first).analysed is first  # nothing to bind: not checked again
    with pytest.raises(ValueError):
        bind_spec(checker(SEQ), _data(3), bindings=Bindings(steps=3))


def test_the_lowering_is_chosen_once_by_the_schedule_and_tbptt_asks_for_the_loop() -> None:
    bound = bind_spec(checker(SEQ), _data(8))
    assert prepare_spec(bound).schedule.lowering == "unrolled"  # 8 steps: below where a loop pays
    assert prepare_spec(bound, None, "looped").schedule.lowering == "looped"
    cfg = run_config(analyse(SEQ).train, tbptt=3)
    assert prepare_spec(bound, cfg).schedule.lowering == "looped"  # chunks run the step function
    assert prepare_spec(bound, run_config(analyse(SEQ).train, tbptt=8)).schedule.lowering == "unrolled"
    with pytest.raises(ConfigError, match="tbptt runs the looped lowering"):
        prepare_spec(bound, cfg, "unrolled")
    back = bind_spec(checker(BACKWARD), _data(8, per_step=True))
    with pytest.raises(ConfigError, match="tbptt 3: b cannot run step by step: .*reversed time"):
        prepare_spec(back, cfg)


def test_binding_preparing_and_reading_a_run_folder_load_no_tensorflow(tmp_path: Path) -> None:
    from test_run_folder import _folder

    run = _folder(tmp_path / "run")
    code = ("import sys\n"
            "from rnndsl.data import read\n"
            "from rnndsl.training.run_folder import read_run_folder\n"
            "from rnndsl.training.session import bind_spec, checker, prepare_spec\n"
            f"text = open({str(ROOT / 'specs' / 'sequences' / 'italy_power.rnn')!r}).read()\n"
            f"bound = bind_spec(checker(text), read({str(ROOT / 'data' / 'ItalyPowerDemand' / 'ItalyPowerDemand_TRAIN.ts')!r}))\n"
            "assert bound.program.steps == 24 and prepare_spec(bound).schedule is not None\n"
            f"assert read_run_folder({str(run)!r}).bindings.masked\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'matplotlib')]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.tf
def test_the_python_api_trains_a_tbptt_spec_with_the_loop(tmp_path: Path) -> None:
    """train_text runs the same sequence as compile: a spec's `tbptt` shorter than its sequence runs looped."""
    pytest.importorskip("tensorflow")
    from rnndsl.training.api import train_text

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8, 2)).astype(np.float32)
    y = np.cumsum(x[..., :1], axis=1) * 0.1
    split = Split({"x": x}, {"y": y})
    text = ("model c\ninput x[t]: (2,)\ntarget y[t]: real(1)\nh[t] = gru(x[t], 4)\ny[t] = dense(h[t], 1)\n"
            "train { batch 8  epochs 1  tbptt 3 }\n")
    trained = train_text(text, DataSet("d", "d.npz", split, split), progress=False)
    assert trained.models.lowering == "looped" and len(trained.history) == 1


@pytest.mark.tf
def test_compile_plans_the_loop_only_through_the_schedule(tmp_path: Path, monkeypatch, capsys) -> None:
    """The looped plan is computed once per compile: by the schedule pass, nowhere else."""
    pytest.importorskip("tensorflow")
    from rnndsl.cli import main
    from rnndsl.passes import loops, plan

    calls = []
    real = loops.plan_loops
    for module in (loops, plan):  # plan.py holds its own name for it
        monkeypatch.setattr(module, "plan_loops", lambda p: calls.append(p.name) or real(p))
    spec = tmp_path / "s.rnn"
    spec.write_text(SEQ + "steps 6\n")
    assert main(["compile", str(spec), "--lowering", "looped", "--out", str(tmp_path / "run"), "--no-summary"]) == 0
    assert calls == ["s"]
    assert "looped over 6 steps" in capsys.readouterr().out


@pytest.mark.tf
def test_the_python_api_takes_the_data_sources_compile_takes_and_masks_as_it_does() -> None:
    pytest.importorskip("tensorflow")
    import rnndsl

    trained = rnndsl.train(str(ROOT / "specs" / "vanilla.rnn"), "synthetic", limit=64, epochs=1, batch_size=32,
                           progress=False)
    assert len(trained.history) == 1 and len(trained.data.train) == 64
    with pytest.raises(rnndsl.errors.RnndslError, match="the spec is written for mnist, not cifar10"):
        rnndsl.train(str(ROOT / "specs" / "vanilla.rnn"), "cifar10", data_dir=".")
    model = rnndsl.loads(SEQ).keras_model(_data(5, lengths=[5, 2, 3, 5, 1, 5, 5, 4]))
    assert sorted(model.input) == ["lengths", "x"]  # the data's lengths make a masked model, as compile builds
