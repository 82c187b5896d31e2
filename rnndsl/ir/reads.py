"""Read forms: how a reader reaches the steps of what it reads, one class per form.

`x` (a whole value), `h[t-k]` (a lag: k > 0 an earlier step, k < 0 a later one, 0 this
step), `h[3]` / `h[last]` (a fixed step) and `h[lo..hi]` (a range of steps) are each a
`ReadForm`.  Every stage asks the form, never the raw offsets: which source steps a read
covers at a reader's step (unrolling, diagrams, the Keras lowerings), its edge kind, how it
is printed and dumped, and what a loop needs to run it (its direction, whether it reads the
reader's own step, how many past steps a shift register keeps, whether the whole history
is kept, whether a step function can stream it).  A new read form is its grammar rule, its
lowering in semantics/expressions.py and one class here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["EdgeKind", "Bound", "Window", "ReadForm", "Whole", "Lag", "Fixed", "Range", "WHOLE", "NOW", "form_of"]


class EdgeKind(str, Enum):
    """How a read relates reader and source in time, derived from the read form (never declared)."""

    FEED = "feed"  # same step, or an untimed value
    SAME = "same"  # a stream reads its own previous step
    CROSS = "cross"  # a stream reads another stream's previous step
    LAG_K = "lag-k"  # t - k, k >= 2
    REVERSED = "reversed"  # a later step, t + k
    FIXED = "fixed"  # a stream equation reads one fixed step (h[3], h[last]) at every step
    WINDOW = "window"  # a range of steps h[0..t-1], reduced over time

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Bound:
    """One end of a range of steps: `t+offset` (base "t"), an absolute step, or `last+offset`."""

    base: str  # "t" | "abs" | "last"
    offset: int

    def at(self, t: int, steps: int) -> int:
        return {"t": t, "abs": 0, "last": steps - 1}[self.base] + self.offset

    def __str__(self) -> str:
        if self.base == "abs":
            return str(self.offset)
        sign = "" if self.offset == 0 else (f"+{self.offset}" if self.offset > 0 else str(self.offset))
        return self.base + sign


@dataclass(frozen=True)
class Window:
    """The steps lo..hi (both included) that a read of many steps covers, clipped to 0..steps-1."""

    lo: Bound
    hi: Bound

    def steps(self, t: int | None, steps: int) -> range:
        t = 0 if t is None else t
        return range(max(self.lo.at(t, steps), 0), min(self.hi.at(t, steps), steps - 1) + 1)

    def active(self, steps: int) -> tuple[int, int]:
        """The steps t (an interval a..b, empty when a > b) at which the range holds at least one step.

        Each end moves with t or not, so every condition (lo <= hi, lo <= steps-1, hi >= 0) is
        t <= c, t >= c or always/never: their intersection is an interval, found in O(1).
        """
        a, b = 0, steps - 1
        lo_t, hi_t = self.lo.base == "t", self.hi.base == "t"
        lo0, hi0 = self.lo.at(0, steps), self.hi.at(0, steps)  # the ends at t = 0
        # lo(t) <= hi(t)
        if lo_t == hi_t:
            if lo0 > hi0:
                return 1, 0
        elif lo_t:
            b = min(b, hi0 - lo0)
        else:
            a = max(a, lo0 - hi0)
        # lo(t) <= steps - 1, hi(t) >= 0
        if lo_t:
            b = min(b, steps - 1 - lo0)
        elif lo0 > steps - 1:
            return 1, 0
        if hi_t:
            a = max(a, -hi0)
        elif hi0 < 0:
            return 1, 0
        return a, b

    def live_steps(self, steps_of_reader: tuple[int, ...], steps: int) -> tuple[int, ...]:
        """The reader's steps (sorted) at which the range holds at least one step."""
        import bisect

        a, b = self.active(steps)
        return steps_of_reader[bisect.bisect_left(steps_of_reader, a):bisect.bisect_right(steps_of_reader, b)]

    @property
    def timed(self) -> bool:
        """Whether the range moves with t (it can then only be read inside a stream equation)."""
        return "t" in (self.lo.base, self.hi.base)

    def __str__(self) -> str:
        return f"[{self.lo}..{self.hi}]"


class ReadForm:
    """One way of reading a source.  The defaults are a read of the reader's own step."""

    def kind(self, src_timed: bool, same_owner: bool, dst_timed: bool) -> EdgeKind:
        """The edge kind of this read."""
        return EdgeKind.FEED

    @property
    def label(self) -> str:
        """How the read is written after the source's name in diagrams and messages ("" for this step)."""
        return ""

    def dump(self) -> str:
        """The read's field in the stable IR dump ("" for none)."""
        return ""

    def sources(self, t: int | None, steps: int) -> tuple[int | None, ...]:
        """The source steps read at reader step t, in order (a lag may fall outside 0..steps-1: the initial state)."""
        return (t,)

    def live(self, reader_steps: tuple[int, ...], steps: int) -> tuple[int, ...]:
        """The reader's steps at which the read reaches anything (a range may cover none)."""
        return reader_steps

    @property
    def carries_state(self) -> bool:
        """Whether the read is of another step than the reader's (it can break a same-step cycle)."""
        return False

    @property
    def this_step(self) -> bool:
        """Whether, at step t, the read includes step t (the source is then computed first within the step)."""
        return True

    def direction(self) -> int | None:
        """For a loop over the steps: +1 if it reads only earlier (or this) steps, -1 only later (or this),
        0 only this step, None when a loop cannot run it in one direction (a fixed step, a range
        reaching both ways)."""
        return 0

    def reads_done(self, direction: int) -> bool:
        """Whether, in a loop running in `direction`, every step read is already computed."""
        return True

    @property
    def depth(self) -> int:
        """How many other steps a shift register must keep for this read."""
        return 0

    @property
    def history(self) -> bool:
        """Whether a loop must keep the source's every step for this read."""
        return False

    def unstreamable(self, src: str, reader: str) -> str | None:
        """Why a step function (one step from the past alone) cannot run this read inside a stream, if it cannot."""
        return None


@dataclass(frozen=True)
class Whole(ReadForm):
    """A read with no index: an untimed value, or within one equation an op's result at the same step."""


@dataclass(frozen=True)
class Lag(ReadForm):
    """`h[t-k]`: k > 0 an earlier step, k < 0 a later one, k = 0 the reader's own step."""

    k: int

    def kind(self, src_timed: bool, same_owner: bool, dst_timed: bool) -> EdgeKind:
        if not src_timed or self.k == 0:
            return EdgeKind.FEED
        if self.k < 0:
            return EdgeKind.REVERSED
        if self.k >= 2:
            return EdgeKind.LAG_K
        return EdgeKind.SAME if same_owner else EdgeKind.CROSS

    @property
    def label(self) -> str:
        return "" if self.k == 0 else f"t-{self.k}" if self.k > 0 else f"t+{-self.k}"

    def dump(self) -> str:
        return f"lag={self.k}"

    def sources(self, t: int | None, steps: int) -> tuple[int | None, ...]:
        return (t,) if t is None else (t - self.k,)

    @property
    def carries_state(self) -> bool:
        return self.k != 0

    @property
    def this_step(self) -> bool:
        return self.k == 0

    def direction(self) -> int | None:
        return (self.k > 0) - (self.k < 0)

    def reads_done(self, direction: int) -> bool:
        return self.k * direction >= 0

    @property
    def depth(self) -> int:
        return abs(self.k)

    def unstreamable(self, src: str, reader: str) -> str | None:
        if self.k < 0:
            return (f"'{reader}' reads a later step of '{src}' (reversed time): a stream gives its first output "
                    f"only after the whole sequence")
        return None


@dataclass(frozen=True)
class Fixed(ReadForm):
    """`h[3]`, `h[last]`: one fixed step, whatever the reader's step."""

    step: int

    def kind(self, src_timed: bool, same_owner: bool, dst_timed: bool) -> EdgeKind:
        return EdgeKind.FIXED if src_timed and dst_timed else EdgeKind.FEED

    @property
    def label(self) -> str:
        return f"[{self.step}]"

    def dump(self) -> str:
        return f"at={self.step}"

    def sources(self, t: int | None, steps: int) -> tuple[int | None, ...]:
        return (self.step,)

    @property
    def carries_state(self) -> bool:
        return True

    @property
    def this_step(self) -> bool:
        return False

    def direction(self) -> int | None:
        return None

    def reads_done(self, direction: int) -> bool:
        return False

    def unstreamable(self, src: str, reader: str) -> str | None:
        return f"'{reader}' reads the fixed step {self.step} of '{src}' at every step"


@dataclass(frozen=True)
class Range(ReadForm):
    """`h[lo..hi]`: the steps lo to hi, both included, clipped to the steps that exist."""

    window: Window

    def kind(self, src_timed: bool, same_owner: bool, dst_timed: bool) -> EdgeKind:
        return EdgeKind.WINDOW

    @property
    def label(self) -> str:
        return str(self.window)

    def dump(self) -> str:
        return f"steps={self.window}"

    def sources(self, t: int | None, steps: int) -> tuple[int | None, ...]:
        return tuple(self.window.steps(t, steps))

    def live(self, reader_steps: tuple[int, ...], steps: int) -> tuple[int, ...]:
        return self.window.live_steps(reader_steps, steps)

    @property
    def carries_state(self) -> bool:
        return True

    @property
    def this_step(self) -> bool:
        w = self.window
        return w.hi.base == "t" and w.hi.offset == 0 or w.lo.base == "t" and w.lo.offset == 0

    def direction(self) -> int | None:
        w = self.window
        if w.hi.base == "t" and w.hi.offset <= 0:
            return 1  # up to this step
        if w.lo.base == "t" and w.lo.offset >= 0:
            return -1  # from this step on
        return None

    def reads_done(self, direction: int) -> bool:
        w = self.window
        end = w.hi if direction > 0 else w.lo
        return end.base == "t" and end.offset * direction <= 0

    @property
    def history(self) -> bool:
        return True

    def unstreamable(self, src: str, reader: str) -> str | None:
        return f"'{reader}' reads the range {self.window} of '{src}'; a step function keeps only a fixed number of " \
               f"past steps"


WHOLE = Whole()
NOW = Lag(0)


def form_of(lag: int | None = None, at: int | None = None, window: Window | None = None) -> ReadForm:
    """The read form for the old offsets (a lag, a fixed step or a range; none of them: a whole value)."""
    if window is not None:
        return Range(window)
    if at is not None:
        return Fixed(at)
    if lag is not None:
        return Lag(lag)
    return WHOLE
