"""The schedule pass: decide once how the program runs (the artefact is plan.py), and its stable dump."""

from __future__ import annotations

import dataclasses

from .loops import UnitKind
from .plan import ScheduleKind, choose_kind
from .prepared import Prepared

__all__ = ["plan_schedule", "dump_schedule"]


def plan_schedule(prep: Prepared) -> Prepared:
    """The schedule pass: decide how the program runs, once, from the request `prepare` was given."""
    return dataclasses.replace(prep, schedule=choose_kind(prep.program, prep.request))


def dump_schedule(prep: Prepared) -> str:
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
