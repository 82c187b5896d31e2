"""The data-source rules (rnndsl/data/sources.py): one table, applied alike by compile, compare and the playground.

No TensorFlow: every rule here is checked before anything is built.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from rnndsl.cli import main
from rnndsl.data import DataArgs, DataError, READERS, choices, load, read, source_of
from rnndsl.data.sources import check_paths

SHIPPED = ROOT / "data" / "ItalyPowerDemand"


def _refused(args: DataArgs, spec_data: str | None) -> str:
    with pytest.raises(DataError) as err:
        source_of(args, spec_data)
    return str(err.value)


def test_every_data_value_maps_to_one_reader() -> None:
    assert source_of(DataArgs(data_dir="d"), "mnist")[1] == "mnist"  # the spec's data line
    assert source_of(DataArgs("synthetic"), "cifar10")[1] == "synthetic_cifar10"
    assert source_of(DataArgs("a/B.NPZ"), None)[0] is READERS[".npz"]  # by suffix, any case
    assert source_of(DataArgs("s.csv", window=4, limit=9), None)[0] is READERS[".csv"]
    assert source_of(DataArgs("mnist", data_dir="d", limit=3), "mnist")[0] is READERS["mnist"]


@pytest.mark.parametrize("args,spec_data,words", [
    (DataArgs(), None, "the spec reads its data from a file: pass --data FILE (.ts, .npz or .csv)"),
    (DataArgs("mnist", data_dir="d"), None, "--data mnist: the spec declares its own inputs"),
    (DataArgs("cifar10", data_dir="d"), "mnist", "the spec is written for mnist, not cifar10"),
    (DataArgs("mnist"), "mnist", "mnist is read from --data-dir DIR (nothing is downloaded)"),
    (DataArgs("x.txt"), None, "x.txt: unknown kind of data file '.txt' (expected a data file (.ts"),
    (DataArgs("x.npz", window=3), None, "--window applies only to a .csv series, not to a .npz file"),
    (DataArgs("mnist", data_dir="d", window=3), "mnist", "--window applies only to a .csv series, not to mnist"),
    (DataArgs("x.ts", data_dir="d"), None, "--data-dir applies only to a built-in set read from disk"),
    (DataArgs("synthetic", data_dir="d"), "mnist", "not to synthetic"),
])
def test_each_rule_refuses_with_its_own_message(args: DataArgs, spec_data, words: str) -> None:
    assert words in _refused(args, spec_data)


def test_the_choices_come_from_the_table_and_the_help_says_them(capsys) -> None:
    text = choices()
    for key, reader in READERS.items():
        assert reader.label in text and key.lstrip(".") in text
    for command in ("compile", "compare"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert text in " ".join(capsys.readouterr().out.split()), command  # argparse wraps the help text


def test_read_and_load_dispatch_through_the_table() -> None:
    a = read(SHIPPED / "ItalyPowerDemand_TRAIN.ts")
    b = load(DataArgs(str(SHIPPED / "ItalyPowerDemand_TRAIN.ts"), limit=5), None)
    assert len(b.train) == 5 and np.array_equal(b.train.inputs["x"], a.train.inputs["x"][:5])
    syn = load(DataArgs("synthetic", limit=20), "mnist", seed=2)
    assert len(syn.train) == 20 and syn.train.inputs["image"].shape[1:] == (28, 28, 1)


def test_data_args_round_trip_through_a_manifest_and_the_command_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = DataArgs("d.csv", None, 12, 100)
    assert DataArgs.from_record(args.record()) == args
    assert args.words() == ["--data", "d.csv", "--window", "12", "--limit", "100"]
    assert args.absolute().data == str(tmp_path / "d.csv")
    assert DataArgs("synthetic").absolute().data == "synthetic"  # a built-in name is not a path
    ns = argparse.Namespace(data="mnist", data_dir="m", window=None, limit=None, other=1)
    assert DataArgs.of(ns) == DataArgs("mnist", "m")
    for bad in ({"limit": 0}, {"window": "x"}, {"data": 3}, {"limit": True}):
        with pytest.raises(ValueError):
            DataArgs.from_record(bad)


def test_check_paths_names_a_missing_file_or_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--data-dir .*: no such folder"):
        check_paths(DataArgs("mnist", str(tmp_path / "none")))
    with pytest.raises(DataError, match="--data .*: no such file"):
        check_paths(DataArgs(str(tmp_path / "none.npz")))
    check_paths(DataArgs("synthetic"))


def test_compile_compare_and_the_playground_apply_the_same_rule(tmp_path: Path, capsys) -> None:
    """One spec, one bad source: compile and compare refuse it with the rule's message, the playground notes it."""
    from rnndsl.serve.api import compile_command

    spec = tmp_path / "seq.rnn"
    text = "model s\ninput x[t]: (3,)\ntarget y: class\nh[t] = gru(x[t], 8)\ny = h[last] | dense(4)\n"
    spec.write_text(text)
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    rule = _refused(DataArgs(str(data), window=5), None)
    run = tmp_path / "run"
    assert main(["compile", str(spec), "--train", "--data", str(data), "--window", "5", "--out", str(run)]) == 2
    assert rule in capsys.readouterr().err and not run.exists()  # refused before the run folder is made
    assert main(["compare", str(spec), "--data", str(data), "--window", "5", "--out", str(tmp_path / "c")]) == 2
    assert rule in capsys.readouterr().err and not (tmp_path / "c").exists()
    notes = compile_command(text, "seq.rnn", False, data="mnist", data_dir="d")["notes"]
    assert _refused(DataArgs("mnist", "d"), None) in notes
    vanilla = (ROOT / "specs" / "vanilla.rnn").read_text()
    result = compile_command(vanilla, "v.rnn", False, data="synthetic")
    assert result["notes"] == [] and result["command"] == "rnndsl compile v.rnn --train --data synthetic"
