"""What the passes hand to a backend: the checked program and the facts the passes established."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..checks import Checked
from ..ir import UNode
from .plan import Request, Schedule

__all__ = ["Prepared", "Pass"]


@dataclass(frozen=True, eq=False)
class Prepared:
    """A checked program ready for a backend.

    `zero`: unrolled nodes known to be all zeros (a zero initial state and what follows
    from it), which a backend never computes.  `forward`: unrolled nodes equal to one of
    their inputs (`x + 0` is x).  `request`: what the caller asked of the schedule (the
    lowering, the backend's cost facts); `schedule`: how the program runs, set by the last
    pass and read by every backend (they do not plan).
    """

    checked: Checked
    zero: frozenset[UNode] = frozenset()
    forward: Mapping[UNode, UNode] = field(default_factory=dict)
    request: Request = field(default_factory=Request)
    schedule: Schedule | None = None

    @property
    def program(self):
        return self.checked.program


Pass = Callable[[Prepared], Prepared]
