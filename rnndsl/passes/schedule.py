"""The schedule: how each part of a program runs, decided once and handed to every backend.

A program runs under one schedule kind today: **unrolled** (a graph node per step: best for
a few steps) or **looped** (a loop over the steps, planned by passes/loops.py from the folded
graph; the plan's units say what runs once, what for all steps at once and what step by
step).  The choice is `choose_kind`: the user's request and the backend's own measured
costs (`CostFacts`, kept by each backend in backends/costs.py), never a constant here.
`plan_schedule` is the last pass in PASSES; `dump_schedule` is its stable text for golden
files.  A scan schedule for linear recurrences is the next kind (issue 20): it rewrites the
plan's units, so backends keep reading one artefact.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ..ir import Program
from .loops import LoopPlan, NotLoopable, UnitKind, plan_loops

if TYPE_CHECKING:  # (prepared.py holds a Schedule: it imports this module)
    from .prepared import Prepared

__all__ = ["ScheduleKind", "CostFacts", "Request", "Schedule", "LOWERINGS", "choose_kind", "plan_schedule",
           "dump_schedule"]


class ScheduleKind(Enum):
    """How a program (or, with scans, a segment of it) runs."""

    UNROLLED = "unrolled"
    LOOPED = "looped"


LOWERINGS = ("unrolled", "looped", "auto")  # what a user may ask for (`--lowering`)


@dataclass(frozen=True)
class CostFacts:
    """What one backend measured about its own costs, for choosing a schedule kind.

    `loop_from_steps`: from this many steps a loop trains faster (or traces in reasonable time
    and memory) than the unrolled graph.  `source`: where the figure was measured.
    """

    backend: str
    loop_from_steps: int
    source: str = ""


@dataclass(frozen=True)
class Request:
    """What the caller asks of the schedule pass: the lowering (`auto` chooses) and the backend's costs."""

    lowering: str = "auto"
    costs: CostFacts | None = None

    def __post_init__(self) -> None:
        if self.lowering not in LOWERINGS:
            raise ValueError(f"lowering must be one of {', '.join(LOWERINGS)}, got {self.lowering!r}")


@dataclass(frozen=True)
class Schedule:
    """The plan a backend runs: its kind, why it was chosen, and (looped) the loop plan's units."""

    kind: ScheduleKind
    reason: str
    loops: LoopPlan | None = None  # the looped plan: set when kind is LOOPED, and for `auto` whenever the spec loops

    @property
    def lowering(self) -> str:
        return self.kind.value


def choose_kind(program: Program, request: Request) -> Schedule:
    """The schedule for `program`: as requested, or for `auto` by the backend's cost facts.

    `looped` for a spec that cannot loop raises NotLoopable with the reason.
    """
    if request.lowering == "unrolled":
        return Schedule(ScheduleKind.UNROLLED, "asked for (--lowering unrolled)")
    if request.lowering == "looped":
        return Schedule(ScheduleKind.LOOPED, "asked for (--lowering looped)", plan_loops(program))
    if not program.streams:
        return Schedule(ScheduleKind.UNROLLED, "auto: no stream to loop over")
    try:
        plan = plan_loops(program)
    except NotLoopable as err:
        return Schedule(ScheduleKind.UNROLLED, f"auto: the spec cannot loop ({err})")
    costs = request.costs
    if costs is None:
        return Schedule(ScheduleKind.UNROLLED, "auto: no backend cost facts given", plan)
    if program.steps < costs.loop_from_steps:
        return Schedule(ScheduleKind.UNROLLED, f"auto: {program.steps} steps, below the {costs.backend} backend's "
                                               f"{costs.loop_from_steps} where a loop pays", plan)
    return Schedule(ScheduleKind.LOOPED, f"auto: {program.steps} steps, from the {costs.backend} backend's "
                                         f"{costs.loop_from_steps} on a loop pays", plan)


def plan_schedule(prep: "Prepared") -> "Prepared":
    """The schedule pass: decide how the program runs, once, from the request `prepare` was given."""
    return dataclasses.replace(prep, schedule=choose_kind(prep.program, prep.request))


def dump_schedule(prep: "Prepared") -> str:
    """A stable text form of the schedule (kind, reason, and the loop plan's units) for golden files."""
    s = prep.schedule
    assert s is not None, "prepare() runs plan_schedule"
    p = prep.program
    out = [f"schedule {s.kind.value}: {s.reason}"]
    if s.loops is None:
        return "\n".join(out) + "\n"
    out.append("looped plan:" if s.kind is ScheduleKind.LOOPED else "looped plan (for --lowering looped):")
    for unit in s.loops.units:
        if unit.kind is not UnitKind.LOOP:
            out.append(f"  {unit.kind.value} {unit.name}")
            continue
        loop = unit.loop
        assert loop is not None
        out.append(f"  loop {'forward' if loop.direction > 0 else 'backward'}: {' '.join(loop.order)}")
        for label, names in (("keeps", [f"{k}[{v}]" for k, v in sorted(loop.lags.items())]),
                             ("history", sorted(loop.history)), ("collect", sorted(loop.collect)),
                             ("finals", sorted(loop.finals))):
            if names:
                out.append(f"    {label} {' '.join(names)}")
    if s.loops.hoisted:
        out.append(f"  over all steps at once: {' '.join(sorted(s.loops.hoisted, key=p.order))}")
    return "\n".join(out) + "\n"
