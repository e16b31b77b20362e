"""An SVG picture of the cases by level by phase of co-production, drawn from the data.

Pestoff (2015, §3, Figure 1) sketches co-production on two axes: from individual through mixed
to collective participation, and across the phases of providing a service. Here each cell of that
grid shows how many published cases are coded with that level and that phase.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from coprod_kg.rdf.namespaces import CPC, CPS

#: The axes in the paper's order (levels bottom-up from individual; phases in time order).
LEVELS: tuple[str, ...] = (
    str(CPC["individual-level"]), str(CPC["mixed-level"]), str(CPC["collective-level"]))
PHASES: tuple[str, ...] = (
    str(CPC["commissioning-phase"]), str(CPC["design-phase"]),
    str(CPC["delivery-phase"]), str(CPC["evaluation-phase"]))
LEVEL_SCHEME = str(CPS["levels"])
PHASE_SCHEME = str(CPS["phases"])


@dataclass(frozen=True)
class Axis:
    """One axis value: the concept's IRI and its label."""

    iri: str
    label: str


@dataclass(frozen=True)
class LevelPhaseGrid:
    """Counts of distinct cases per (level IRI, phase IRI), with the axes to draw."""

    levels: tuple[Axis, ...]
    phases: tuple[Axis, ...]
    counts: Mapping[tuple[str, str], int]

    def count(self, level: str, phase: str) -> int:
        """The number of cases in one cell (0 when absent)."""
        return self.counts.get((level, phase), 0)


def ordered_axis(found: Mapping[str, str], preferred: Sequence[str]) -> tuple[Axis, ...]:
    """Axis values in the paper's order, then any other concept of the scheme by label.

    >>> [a.label for a in ordered_axis({"b": "B", "x": "X", "a": "A"}, ["a", "b"])]
    ['A', 'B', 'X']
    """
    known = [Axis(iri, found[iri]) for iri in preferred if iri in found]
    extra = sorted((Axis(iri, label) for iri, label in found.items() if iri not in preferred),
                   key=lambda axis: axis.label.lower())
    return (*known, *extra)


def wrap(label: str, width: int = 24) -> list[str]:
    """Break a label into lines of at most ``width`` characters (longer words stay whole).

    >>> wrap("individual and collective co-production")
    ['individual and', 'collective co-production']
    """
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


# Layout, in SVG user units.
_LEFT, _TOP, _CELL_W, _CELL_H, _BOTTOM = 220, 40, 130, 80, 60


def _cell(x: float, y: float, n: int, biggest: int, href: str | None, title: str) -> str:
    radius = 0.0 if n == 0 else 8 + 26 * math.sqrt(n / biggest)
    shape = (f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{radius:.1f}" class="fig-dot"/>'
             if n else "")
    text = f'<text x="{x:.0f}" y="{y + 5:.0f}" class="fig-count">{n}</text>'
    body = f"<title>{escape(title)}</title>{shape}{text}"
    if href and n:
        return f'<a href="{escape(href)}">{body}</a>'
    return f"<g>{body}</g>"


def render_svg(grid: LevelPhaseGrid, link: str | None = "/browse/cases?level={level}&phase={phase}",
               ) -> str:
    """Draw ``grid`` as a self-contained, accessible SVG (title, description, text counts).

    ``link`` is a template for each non-empty cell's link, with ``{level}`` and ``{phase}``
    replaced by the concepts' IRIs (URL-encoded); ``None`` draws no links.
    """
    from urllib.parse import quote

    width = _LEFT + _CELL_W * max(len(grid.phases), 1) + 20
    height = _TOP + _CELL_H * max(len(grid.levels), 1) + _BOTTOM
    biggest = max([*grid.counts.values(), 1])
    total = sum(grid.counts.values())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        # "img" would hide the cells' links from assistive technology: a labelled group then
        f'role="{"group" if link and total else "img"}" aria-labelledby="fig-title fig-desc" '
        'class="level-phase-figure">',
        '<title id="fig-title">Cases by level and phase of co-production</title>',
        f'<desc id="fig-desc">A grid of {len(grid.levels)} levels by {len(grid.phases)} phases; '
        f"each cell gives the number of cases coded with that level and phase "
        f"({total} case codings in all).</desc>",
    ]
    for column, phase in enumerate(grid.phases):
        x = _LEFT + _CELL_W * column + _CELL_W / 2
        parts.append(f'<text x="{x:.0f}" y="{_TOP - 14}" class="fig-axis">'
                     f"{escape(phase.label)}</text>")
    # Collective at the top, individual at the bottom, as levels rise with collective action.
    for row, level in enumerate(reversed(grid.levels)):
        y = _TOP + _CELL_H * row + _CELL_H / 2
        lines = wrap(level.label)
        top = y + 5 - 8 * (len(lines) - 1)
        spans = "".join(f'<tspan x="{_LEFT - 12}" dy="{0 if i == 0 else 16}">{escape(line)}</tspan>'
                        for i, line in enumerate(lines))
        parts.append(f'<text x="{_LEFT - 12}" y="{top:.0f}" class="fig-axis fig-level">'
                     f"{spans}</text>")
        for column, phase in enumerate(grid.phases):
            x = _LEFT + _CELL_W * column + _CELL_W / 2
            parts.append(f'<rect x="{x - _CELL_W / 2 + 3:.0f}" y="{y - _CELL_H / 2 + 3:.0f}" '
                         f'width="{_CELL_W - 6}" height="{_CELL_H - 6}" class="fig-cell"/>')
            n = grid.count(level.iri, phase.iri)
            href = (link.format(level=quote(level.iri, safe=""), phase=quote(phase.iri, safe=""))
                    if link else None)
            title = f"{level.label}, {phase.label}: {n} case{'s' if n != 1 else ''}"
            parts.append(_cell(x, y, n, biggest, href, title))
    axis_y = _TOP + _CELL_H * len(grid.levels) + 30
    parts.append(f'<text x="{_LEFT + _CELL_W * len(grid.phases) / 2:.0f}" y="{axis_y}" '
                 'class="fig-axis">phase of the service cycle →</text>')
    parts.append("</svg>")
    return "\n".join(parts)
