"""Regenerate docs/gallery/ (SVG diagrams of every spec, both views) and docs/gallery.md.

    python scripts/gallery.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnndsl.backends.dot import emit_dot  # noqa: E402
from rnndsl.pipeline import compile_text  # noqa: E402
from rnndsl.backends.dot import render_bytes  # noqa: E402


def main() -> None:
    out = ROOT / "docs" / "gallery"
    out.mkdir(parents=True, exist_ok=True)
    specs = (sorted((ROOT / "specs").glob("*.rnn")) + sorted((ROOT / "specs" / "patterns").glob("*.rnn"))
             + sorted((ROOT / "specs" / "sequences").glob("*.rnn")))
    lines = ["# Gallery", "",
             "Every spec in both views, drawn by `rnndsl render` (regenerate with `python scripts/gallery.py`).",
             "Unrolled: a column per step, a lane per stream; red edges cross between streams, blue stay in a",
             "stream, purple dashed ones skip steps of the same stream (t-k), dark-red dashed ones of another stream,",
             "green dashed ones read a later step, orange dashed ones a",
             "fixed step, teal fans a range of steps; shaded ellipses are learned params. Folded: one node",
             "per stream, recurrent reads as labelled loops. Long unrollings (28 steps) show the first 6 steps.", ""]
    for path in specs:
        checked = compile_text(path.read_text())
        name = str(path.relative_to(ROOT / "specs").with_suffix("")).replace("/", "-")
        p = checked.program
        lines += [f"## {p.title}", "", f"`{path.relative_to(ROOT)}`: {checked.total_params:,} parameters, "
                  + ("steps from the data" if p.steps_from_data else f"{p.steps} steps") if p.streams else f"`{path.relative_to(ROOT)}`: {checked.total_params:,} parameters, no recurrence", ""]
        views = ("unrolled", "folded") if p.streams else ("unrolled",)
        for view in views:
            svg = render_bytes(emit_dot(checked, view=view, max_steps=6 if p.steps > 8 else None), "svg")
            (out / f"{name}.{view}.svg").write_bytes(svg)
            lines += [f"![{p.name} {view}](gallery/{name}.{view}.svg)", ""]
        print(f"{name}: {', '.join(views)}")
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
