"""The layer catalogue as Markdown, generated from the registry (docs/language.md embeds it)."""

from __future__ import annotations

from .kinds import KINDS, StepRule
from .params import REQUIRED, fmt_value

__all__ = ["catalogue_markdown"]


def _param(p) -> str:
    if p.default is REQUIRED:
        text = p.name
    else:
        text = f"{p.name}={fmt_value(p.default) if not isinstance(p.default, tuple) else p.default}"
    if p.choices:
        text += f" ({'/'.join(p.choices)})"
    return f"`{text}`" if p.positional else f"`{text}`*"


_RANGE = {StepRule.NONE: "-", StepRule.EACH: "each step", StepRule.REDUCE: "reduces it",
          StepRule.NORMALISE: "normalises over it"}


def catalogue_markdown() -> str:
    """One row per layer kind: name, category, inputs, parameters, what it does."""
    rows = ["| kind | category | inputs | parameters (* keyword only) | on a range of steps | what it does |",
            "|---|---|---|---|---|---|"]
    for k in KINDS.values():
        inputs = "2+" if k.arity is None else str(k.arity)
        params = ", ".join(_param(p) for p in k.params) or "-"
        rows.append(f"| `{k.name}` | {k.category} | {inputs} | {params} | {_RANGE[k.over_steps]} | {k.doc} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(catalogue_markdown(), end="")
