"""The schedule pass: one plan per compile, chosen from the backend's cost facts, pinned per spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ALL_SPECS, ROOT, spec_id
from rnndsl.backends.costs import KERAS_TENSORFLOW
from rnndsl.passes import PASSES, CostFacts, ScheduleKind, dump_schedule, plan_schedule, prepare
from rnndsl.passes.loops import NotLoopable, UnitKind
from rnndsl.pipeline import analyse

DILATED = (ROOT / "specs" / "patterns" / "dilated.rnn").read_text()  # 28 steps


def LONG(steps: int) -> str:
    """The dilated spec over `steps` steps (its input a dense projection, not the image's 28 rows)."""
    return DILATED.replace("image | row | flatten", "dense(image | flatten, 28)").replace("steps 28", f"steps {steps}")

# `a` reads step 0 of `b` at every step, and `b` reads `a`'s previous step: no cycle in the unrolled
# graph, but one loop body cannot read b[0] before step 0 of the loop has computed it.
FIXED_IN_LOOP = """model fixed
input x[t]: (4,)
target y: class(2)
steps 6
a[t] = tanh(dense(x[t], 4) + dense(b[0], 4))
b[t] = tanh(dense(a[t-1], 4))
y = dense(a[last], 2)
"""


def test_the_schedule_is_the_last_registered_pass() -> None:
    assert PASSES[-1] is plan_schedule
    assert prepare(analyse(DILATED).checked).schedule is not None


@pytest.mark.parametrize("path", ALL_SPECS, ids=[spec_id(p) for p in ALL_SPECS])
def test_schedule_dump_matches_golden(path: Path, golden) -> None:
    prep = prepare(analyse(path.read_text()).checked, costs=KERAS_TENSORFLOW)
    golden(ROOT / "tests" / "golden" / "schedule" / f"{spec_id(path).replace('/', '__')}.txt", dump_schedule(prep))


def test_auto_follows_the_backends_cost_facts() -> None:
    checked = analyse(DILATED).checked
    assert prepare(checked, costs=KERAS_TENSORFLOW).schedule.kind is ScheduleKind.UNROLLED  # 28 < 200
    eager = CostFacts("a backend whose loops are cheap", loop_from_steps=16)
    looped = prepare(checked, costs=eager).schedule
    assert looped.kind is ScheduleKind.LOOPED and "loop_from_steps" not in looped.reason
    assert "16" in looped.reason and "cheap" in looped.reason
    long = analyse(LONG(200)).checked
    assert prepare(long, costs=KERAS_TENSORFLOW).schedule.kind is ScheduleKind.LOOPED
    assert prepare(checked).schedule.kind is ScheduleKind.UNROLLED  # no facts: never guess


def test_a_request_overrides_the_facts_and_unit_kinds_are_typed() -> None:
    checked = analyse(DILATED).checked
    s = prepare(checked, lowering="looped", costs=KERAS_TENSORFLOW).schedule
    assert s.kind is ScheduleKind.LOOPED and s.loops is not None
    assert {u.kind for u in s.loops.units} <= set(UnitKind) and any(u.kind is UnitKind.LOOP for u in s.loops.units)
    long = analyse(LONG(400)).checked
    assert prepare(long, lowering="unrolled", costs=KERAS_TENSORFLOW).schedule.kind is ScheduleKind.UNROLLED


def test_a_spec_that_cannot_loop_says_why() -> None:
    checked = analyse(FIXED_IN_LOOP).checked
    with pytest.raises(NotLoopable, match="reads a fixed step"):
        prepare(checked, lowering="looped")
    s = prepare(checked, costs=CostFacts("x", loop_from_steps=1)).schedule
    assert s.kind is ScheduleKind.UNROLLED and "cannot loop" in s.reason and "fixed step" in s.reason


def test_an_unknown_lowering_is_refused() -> None:
    with pytest.raises(ValueError, match="lowering must be one of"):
        prepare(analyse(DILATED).checked, lowering="scan!")


@pytest.mark.tf
def test_a_looped_compile_plans_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI chooses the schedule before TensorFlow loads (it prints it); the backend must then
    # build from that plan, not plan again.
    pytest.importorskip("tensorflow")
    import rnndsl.passes.plan as schedule
    from rnndsl.cli import main

    calls = []
    real = schedule.plan_loops
    monkeypatch.setattr(schedule, "plan_loops", lambda p: calls.append(p.name) or real(p))
    rc = main(["compile", str(ROOT / "specs" / "patterns" / "dilated.rnn"), "--lowering", "looped", "--no-summary",
               "--out", str(tmp_path / "run")])
    assert rc == 0
    assert calls == ["dilated"]
