"""The schedule, the artefact: how each part of a program runs, decided once and handed to every backend.

A program runs under one schedule kind today: **unrolled** (a graph node per step: best for
a few steps) or **looped** (a loop over the steps, planned by passes/loops.py from the folded
graph; the plan's units say what runs once, what for all steps at once and what step by
step).  The choice is `choose_kind`: the user's request and the backend's own measured
costs (`CostFacts`, kept by each backend in backends/costs.py), never a constant here.
The pass that sets it (`plan_schedule`, the last in PASSES) and its stable text for golden
files (`dump_schedule`) are in schedule.py.  A scan schedule for linear recurrences is the next kind (issue 20): it rewrites the
plan's units, so backends keep reading one artefact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..ir import Program
from .loops import LoopPlan, NotLoopable, plan_loops

__all__ = ["ScheduleKind", "CostFacts", "Request", "Schedule", "LOWERINGS", "choose_kind"]


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


