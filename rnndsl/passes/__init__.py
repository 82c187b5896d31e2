"""Backend-independent passes over the checked IR, run in order from one tuple."""

from __future__ import annotations

from ..checks import Checked
from .constant_folding import fold_constants
from .prepared import Pass, Prepared
from .plan import LOWERINGS, CostFacts, Request, Schedule, ScheduleKind
from .schedule import dump_schedule, plan_schedule
from .zero_state import elide_zero_states

__all__ = ["PASSES", "Prepared", "prepare", "fold_constants", "elide_zero_states", "plan_schedule",
           "LOWERINGS", "CostFacts", "Request", "Schedule", "ScheduleKind", "dump_schedule"]

PASSES: tuple[Pass, ...] = (
    fold_constants,
    elide_zero_states,
    plan_schedule,
)


def prepare(checked: Checked, passes: tuple[Pass, ...] = PASSES, *, lowering: str = "auto",
            costs: CostFacts | None = None) -> Prepared:
    """Run the passes over a checked program; the result is what every backend compiles.

    `lowering` (unrolled, looped, auto) and the backend's `costs` decide the schedule; a
    `looped` request for a spec that cannot loop raises NotLoopable with the reason.
    """
    prep = Prepared(checked, request=Request(lowering, costs))
    for run in passes:
        prep = run(prep)
    return prep
