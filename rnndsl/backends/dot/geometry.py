"""Geometry of the unrolled view: node boxes, edges routed around nodes, labels placed clear of both.

The unrolled view pins every node and gives every edge its own curve (Graphviz's `nop2` layout
draws what it is given and routes nothing), so the picture is the same at 4 steps and at 1,000
and costs no routing time.  An edge is, of the shapes below, the first that passes no other
node: a straight line; a curve that leaves and enters level, turning in the space between two
columns; a curve bowed a little to one side; a path along the gaps between lanes and columns
(waypoints given by the caller) with rounded corners; a curve bowed further.  Reads of the same
lane two or more steps back always bow out of the lane.  A label goes to the first spot along
its edge that overlaps no node, no earlier label and no other edge.

Sizes are estimated from the label text (Helvetica / Liberation Sans metrics, rounded up) and
given to Graphviz as each node's width and height, so the boxes drawn are the boxes used here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Box", "Canvas", "Path", "pos_text", "rounded", "text_size", "text_width"]

Point = tuple[float, float]
Curve = tuple[Point, Point, Point, Point]  # one cubic Bezier segment
Path = tuple[Curve, ...]  # segments end to end

_NARROW = set("ijlrtf.,;:'![]()|I ")
_WIDE = set("mwMW@%")


def text_width(line: str, size: float) -> float:
    """A generous estimate of a line's width in points (Helvetica metrics)."""
    em = 0.0
    for ch in line:
        if ch in _NARROW:
            em += 0.34
        elif ch in _WIDE:
            em += 0.92
        elif ch.isupper():
            em += 0.7
        else:
            em += 0.6
    return em * size * 1.05


def text_size(text: str, size: float) -> tuple[float, float]:
    """Width and height in points of a label with DOT line breaks (backslash n)."""
    lines = text.split("\\n")
    return max(text_width(line, size) for line in lines), len(lines) * size * 1.2


@dataclass(frozen=True)
class Box:
    """A node's outline: centre, half width, half height; an ellipse or a box."""

    x: float
    y: float
    hw: float
    hh: float
    ellipse: bool = False

    def contains(self, px: float, py: float, pad: float = 0.0) -> bool:
        dx, dy = abs(px - self.x), abs(py - self.y)
        if self.ellipse:
            return (dx / (self.hw + pad)) ** 2 + (dy / (self.hh + pad)) ** 2 <= 1.0
        return dx <= self.hw + pad and dy <= self.hh + pad

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        return abs(self.x - other.x) < self.hw + other.hw + pad and abs(self.y - other.y) < self.hh + other.hh + pad


# ---- cubic Bezier segments and paths of them -------------------------------------------------
def _lerp(p: Point, q: Point, u: float) -> Point:
    return p[0] + (q[0] - p[0]) * u, p[1] + (q[1] - p[1]) * u


def _at(c: Curve, u: float) -> Point:
    v = 1.0 - u
    a, b, cc, d = v * v * v, 3 * v * v * u, 3 * v * u * u, u * u * u
    return (a * c[0][0] + b * c[1][0] + cc * c[2][0] + d * c[3][0],
            a * c[0][1] + b * c[1][1] + cc * c[2][1] + d * c[3][1])


def _tangent(c: Curve, u: float) -> Point:
    v = 1.0 - u
    dx = 3 * v * v * (c[1][0] - c[0][0]) + 6 * v * u * (c[2][0] - c[1][0]) + 3 * u * u * (c[3][0] - c[2][0])
    dy = 3 * v * v * (c[1][1] - c[0][1]) + 6 * v * u * (c[2][1] - c[1][1]) + 3 * u * u * (c[3][1] - c[2][1])
    if abs(dx) + abs(dy) < 1e-9:  # a control point on its end: use the chord
        dx, dy = c[3][0] - c[0][0], c[3][1] - c[0][1]
    n = math.hypot(dx, dy) or 1.0
    return dx / n, dy / n


def _split(c: Curve, u: float) -> tuple[Curve, Curve]:
    """de Casteljau: the segment as two at u."""
    p01, p12, p23 = _lerp(c[0], c[1], u), _lerp(c[1], c[2], u), _lerp(c[2], c[3], u)
    p012, p123 = _lerp(p01, p12, u), _lerp(p12, p23, u)
    mid = _lerp(p012, p123, u)
    return (c[0], p01, p012, mid), (mid, p123, p23, c[3])


def _seg_length(c: Curve) -> float:
    pts = [_at(c, i / 12) for i in range(13)]
    return sum(math.dist(pts[i], pts[i + 1]) for i in range(12))


def _path_at(path: Path, s: float) -> Point:
    """The point at s in 0..len(path): segment floor(s), at its fraction."""
    i = min(int(s), len(path) - 1)
    return _at(path[i], s - i)


def _path_tangent(path: Path, s: float) -> Point:
    i = min(int(s), len(path) - 1)
    return _tangent(path[i], s - i)


def _sub_path(path: Path, s0: float, s1: float) -> Path:
    """The part of the path between s0 and s1."""
    i0, i1 = min(int(s0), len(path) - 1), min(int(s1), len(path) - 1)
    u0, u1 = s0 - i0, s1 - i1
    if i0 == i1:
        seg = path[i0]
        right = _split(seg, u0)[1] if u0 > 0 else seg
        if u1 < 1.0:
            right = _split(right, (u1 - u0) / (1.0 - u0))[0]
        return (right,)
    first = _split(path[i0], u0)[1] if u0 > 0 else path[i0]
    last = _split(path[i1], u1)[0] if u1 < 1.0 else path[i1]
    return (first, *path[i0 + 1:i1], last)


def _length(path: Path) -> float:
    return sum(_seg_length(c) for c in path)


def _samples(path: Path, step: float) -> list[Point]:
    pts: list[Point] = []
    for c in path:
        n = max(4, int(_seg_length(c) / step))
        pts += [_at(c, i / n) for i in range(n)]
    pts.append(path[-1][3])
    return pts


def _is_line(c: Curve) -> bool:
    t1, t2 = _lerp(c[0], c[3], 1 / 3), _lerp(c[0], c[3], 2 / 3)
    return abs(c[1][0] - t1[0]) + abs(c[1][1] - t1[1]) + abs(c[2][0] - t2[0]) + abs(c[2][1] - t2[1]) < 1e-6


def _segment_meets_box(p: Point, q: Point, b: Box, pad: float) -> bool:
    """Liang-Barsky: whether the segment p-q enters the box grown by `pad`."""
    u0, u1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, start in ((dx, b.x - b.hw - pad, b.x + b.hw + pad, p[0]),
                             (dy, b.y - b.hh - pad, b.y + b.hh + pad, p[1])):
        if abs(d) < 1e-12:
            if start < lo or start > hi:
                return False
            continue
        ta, tb = (lo - start) / d, (hi - start) / d
        if ta > tb:
            ta, tb = tb, ta
        u0, u1 = max(u0, ta), min(u1, tb)
        if u0 > u1:
            return False
    return True


def _cells_on(p: Point, q: Point):
    """The spatial-hash cells a segment passes through (Amanatides-Woo grid walk)."""
    x, y = p[0] / _CELL, p[1] / _CELL
    ex, ey = q[0] / _CELL, q[1] / _CELL
    i, j = math.floor(x), math.floor(y)
    ei, ej = math.floor(ex), math.floor(ey)
    dx, dy = ex - x, ey - y
    si, sj = (1 if dx > 0 else -1), (1 if dy > 0 else -1)
    tdx = abs(1 / dx) if dx else math.inf
    tdy = abs(1 / dy) if dy else math.inf
    tx = ((i + 1 - x) if dx > 0 else (x - i)) * tdx if dx else math.inf
    ty = ((j + 1 - y) if dy > 0 else (y - j)) * tdy if dy else math.inf
    yield i, j
    for _ in range(abs(ei - i) + abs(ej - j)):
        if tx < ty:
            i += si
            tx += tdx
        else:
            j += sj
            ty += tdy
        yield i, j


def _line(p: Point, q: Point) -> Curve:
    return p, _lerp(p, q, 1 / 3), _lerp(p, q, 2 / 3), q


def rounded(points: Sequence[Point], radius: float = 14.0) -> Path:
    """A path through the points: straight legs, corners rounded with arcs of about `radius`."""
    pts = [p for i, p in enumerate(points) if i == 0 or math.dist(p, points[i - 1]) > 1e-6]
    if len(pts) < 3:
        return (_line(pts[0], pts[-1]),)
    segs: list[Curve] = []
    start = pts[0]
    for i in range(1, len(pts) - 1):
        prev, corner, nxt = pts[i - 1], pts[i], pts[i + 1]
        lin, lout = math.dist(prev, corner), math.dist(corner, nxt)
        r = min(radius, lin / 2, lout / 2)
        din = ((corner[0] - prev[0]) / lin, (corner[1] - prev[1]) / lin)
        dout = ((nxt[0] - corner[0]) / lout, (nxt[1] - corner[1]) / lout)
        a = (corner[0] - din[0] * r, corner[1] - din[1] * r)
        b = (corner[0] + dout[0] * r, corner[1] + dout[1] * r)
        if math.dist(start, a) > 1e-6:
            segs.append(_line(start, a))
        k = 0.55 * r
        segs.append((a, (a[0] + din[0] * k, a[1] + din[1] * k), (b[0] - dout[0] * k, b[1] - dout[1] * k), b))
        start = b
    segs.append(_line(start, pts[-1]))
    return tuple(segs)


# ---- the canvas ------------------------------------------------------------------------------
_CELL = 60.0  # spatial hash cell, points
_PAD = 3.0  # how far an edge keeps from a node it does not touch
_LONG = 700.0  # edges longer than this (points) try only a straight line and the gaps


class Canvas:
    """Node boxes, drawn edges and placed labels, looked up through a spatial hash."""

    def __init__(self) -> None:
        self.boxes: dict[str, Box] = {}
        self._nodes: dict[tuple[int, int], list[tuple[str, Box]]] = {}
        self._labels: dict[tuple[int, int], list[Box]] = {}
        self._ink: dict[tuple[int, int], list[tuple[int, Point, Point]]] = {}

    @staticmethod
    def _cells(b: Box):
        for i in range(math.floor((b.x - b.hw) / _CELL), math.floor((b.x + b.hw) / _CELL) + 1):
            for j in range(math.floor((b.y - b.hh) / _CELL), math.floor((b.y + b.hh) / _CELL) + 1):
                yield i, j

    def add(self, node_id: str, box: Box) -> None:
        self.boxes[node_id] = box
        grown = Box(box.x, box.y, box.hw + _PAD, box.hh + _PAD)  # so a point within the pad finds it
        for cell in self._cells(grown):
            self._nodes.setdefault(cell, []).append((node_id, box))

    def _hits_node(self, px: float, py: float, skip: tuple[str, ...]) -> bool:
        return any(node_id not in skip and b.contains(px, py, _PAD)
                   for node_id, b in self._nodes.get((math.floor(px / _CELL), math.floor(py / _CELL)), ()))

    def clear(self, path: Path, a: str, b: str) -> bool:
        """Whether the path passes no node but a and b (straight pieces exactly, curves by samples)."""
        for c in path:
            if _is_line(c):
                if not self._line_clear(c[0], c[3], (a, b)):
                    return False
            elif any(self._hits_node(x, y, (a, b)) for x, y in _samples((c,), 5.0)):
                return False
        return True

    def _line_clear(self, p: Point, q: Point, skip: tuple[str, ...]) -> bool:
        """Walk the cells the segment crosses; test it against each box there (grown by the pad)."""
        seen: set[str] = set()
        for cell in _cells_on(p, q):
            for node_id, b in self._nodes.get(cell, ()):
                if node_id in skip or node_id in seen:
                    continue
                seen.add(node_id)
                if _segment_meets_box(p, q, b, _PAD):
                    return False
        return True

    def route(self, a: str, b: str, bow: float = 0.0, side: int = 1, detours: Sequence[Sequence[Point]] = (),
              prefer_detours: bool = False, direct: bool = True) -> tuple[Path, str]:
        """A path between the centres of nodes a and b that clears every other node, and which
        shape it took: "straight", "level", "bow" or "gaps".

        bow > 0: always bow, at least that far, to `side` first (+1 is left of the direction
        a -> b, which is up for an edge to the right).  `detours`: waypoint lists (between the
        centres) to try when no simple curve clears, before a modest bow with `prefer_detours`;
        `direct=False` skips the straight and level shapes."""
        A, B = self.boxes[a], self.boxes[b]
        p, q = (A.x, A.y), (B.x, B.y)
        dx, dy = q[0] - p[0], q[1] - p[1]
        length = math.hypot(dx, dy) or 1.0
        straight: Path = (_line(p, q),)
        long = length > _LONG and bow <= 0  # curves this long cost much to test: straight or the gaps
        if bow <= 0 and direct:
            if self.clear(straight, a, b):
                return straight, "straight"
            if abs(dx) > 1 and not long:  # leave and enter level, turning in the space between columns
                for k in (0.5, 0.35, 0.65, 0.8, 0.2):
                    curve: Path = ((p, (p[0] + k * dx, p[1]), (q[0] - k * dx, q[1]), q),)
                    if self.clear(curve, a, b):
                        return curve, "level"
        nx_, ny_ = -dy / length, dx / length

        def bowed(d: float, s: int) -> Path:
            c1, c2 = _lerp(p, q, 0.2), _lerp(p, q, 0.8)
            off = (nx_ * s * d, ny_ * s * d)
            return ((p, (c1[0] + off[0], c1[1] + off[1]), (c2[0] + off[0], c2[1] + off[1]), q),)

        first = bowed(max(bow, 24.0), side)

        def modest() -> tuple[Path, str] | None:
            d = max(bow, 24.0)
            while d <= max(bow, 24.0) * 2.5:
                for s in (side, -side):
                    if self.clear(bowed(d, s), a, b):
                        return bowed(d, s), "bow"
                d *= 1.25
            return None

        def along_gaps() -> tuple[Path, str] | None:
            for points in detours:
                path = rounded([p, *points, q])
                if self.clear(path, a, b):
                    return path, "gaps"
            return None

        attempts = (along_gaps, modest) if prefer_detours else (modest, along_gaps)
        if long:
            attempts = (along_gaps,)
            if not detours:
                return straight, "straight"
        for attempt in attempts:
            found = attempt()
            if found is not None:
                return found
        d = max(bow, 24.0) * 2.5
        while d < max(400.0, 0.8 * length) and not long:
            for s in (side, -side):
                if self.clear(bowed(d, s), a, b):
                    return bowed(d, s), "bow"
            d *= 1.25
        if bow > 0:
            return first, "bow"
        return (rounded([p, *detours[0], q]), "gaps") if detours else (straight, "straight")

    def clip(self, path: Path, a: str, b: str, arrow: float) -> tuple[Path, Point | None]:
        """The path cut at the outlines of a and b, then short of the arrowhead (its tip returned)."""
        A, B = self.boxes[a], self.boxes[b]
        n = len(path)
        s0 = _edge_of(path, A.contains, 0.0, n)
        s1 = _edge_of(path, B.contains, float(n), 0.0)
        if s1 <= s0:
            return path, None
        path = _sub_path(path, s0, s1)
        if arrow <= 0:
            return path, None
        tip = path[-1][3]
        if _length(path) < 2 * arrow:
            return path, None
        n = len(path)
        lo, hi = 0.0, float(n)  # farther than `arrow` from the tip at lo, within it at hi
        for _ in range(40):
            mid = (lo + hi) / 2
            if math.dist(_path_at(path, mid), tip) > arrow:
                lo = mid
            else:
                hi = mid
        return _sub_path(path, 0.0, lo), tip

    def add_ink(self, path: Path, owner: int) -> None:
        """An edge drawn: labels placed later keep off its line (kept as short straight pieces)."""
        for c in path:
            pts = [c[0], c[3]] if _is_line(c) else _samples((c,), 8.0)
            for p, q in zip(pts, pts[1:]):
                for cell in _cells_on(p, q):
                    self._ink.setdefault(cell, []).append((owner, p, q))

    def place_label(self, path: Path, text: str, size: float, owner: int = -1) -> Point:
        """A spot beside the path for its label: of the spots tried (along the path, either side,
        near or farther out) the one that overlaps fewest nodes, then labels, then other edges'
        lines, nearest the middle of the path."""
        w, h = text_size(text, size)
        w, h = w + 4, h + 2
        n = len(path)
        best: tuple[float, Box] | None = None
        for far_i, far in enumerate((1.0, 2.2, 4.0)):
            for u_i, u in enumerate((0.5, 0.38, 0.62, 0.27, 0.73, 0.17, 0.83)):
                px, py = _path_at(path, u * n)
                tx, ty = _path_tangent(path, u * n)
                nx_, ny_ = -ty, tx
                off = (abs(nx_) * w / 2 + abs(ny_) * h / 2) * far + 2
                for s in (1, -1):
                    box = Box(px + nx_ * s * off, py + ny_ * s * off, w / 2, h / 2)
                    cost = (1000 * self._node_hits(box) + 300 * self._label_count(box)
                            + 2 * min(self._ink_count(box, owner), 40) + 12 * far_i + 2 * u_i + (s < 0))
                    if best is None or cost < best[0]:
                        best = (cost, box)
        assert best is not None
        self._keep_label(best[1])
        return best[1].x, best[1].y

    def _ink_count(self, box: Box, owner: int) -> int:
        pieces = {(who, p, q) for cell in self._cells(box) for who, p, q in self._ink.get(cell, ()) if who != owner}
        return sum(1 for _, p, q in pieces if _segment_meets_box(p, q, box, 1.0))

    def _node_hits(self, box: Box) -> int:
        return len({node_id for cell in self._cells(box) for node_id, b in self._nodes.get(cell, ())
                    if b.overlaps(box, 1.0)})

    def _label_count(self, box: Box) -> int:
        return sum(1 for cell in self._cells(box) for b in self._labels.get(cell, ()) if b.overlaps(box, 1.0))

    def _keep_label(self, box: Box) -> None:
        for cell in self._cells(box):
            self._labels.setdefault(cell, []).append(box)


def _edge_of(path: Path, inside: Callable[[float, float], bool], start: float, end: float) -> float:
    """Walking from `start` towards `end`, where the path first leaves the shape (stepping, then bisecting)."""
    steps = 48 * max(1, int(abs(end - start)))
    prev = start
    for i in range(1, steps + 1):
        s = start + (end - start) * i / steps
        if not inside(*_path_at(path, s)):
            lo, hi = prev, s  # inside at lo, outside at hi
            for _ in range(24):
                mid = (lo + hi) / 2
                if inside(*_path_at(path, mid)):
                    lo = mid
                else:
                    hi = mid
            return hi
        prev = s
    return (start + end) / 2


def pos_text(path: Path, tip: Point | None) -> str:
    """An edge's `pos`: `e,x,y` (the arrow tip), then the control points of its segments."""
    pts = [path[0][0]] + [p for c in path for p in c[1:]]
    return (f"e,{tip[0]:.1f},{tip[1]:.1f} " if tip is not None else "") + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
