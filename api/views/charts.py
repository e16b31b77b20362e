"""The explorer's charts: counts of the filtered cases, drawn as accessible SVG on the server.

Each chart has its data as rows (for CSV), the SPARQL query that returns the same counts, and an
SVG with a title and a description that say what it shows. Counts come from the case index, so
the charts follow the explorer's filters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from .case_index import CaseIndex, iter_bits
from .explorer import PREFIX_BLOCK, Filter, where
from .facets import BY_KEY
from .figure import LEVELS, PHASES, wrap

NAMES: tuple[str, ...] = ("level-phase", "relation-service", "country", "start-year")
MAX_BARS = 25


@dataclass
class Chart:
    """One chart: what it shows, its SVG, its data and its query."""

    name: str
    title: str
    description: str
    svg: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    sparql: str


def _ordered(values: list[str], preferred: tuple[str, ...], index: CaseIndex,
             lang: str) -> list[str]:
    known = [v for v in preferred if v in values]
    return known + sorted((v for v in values if v not in preferred),
                          key=lambda v: index.label(v, lang).lower())


def dot_grid(name: str, title: str, description: str, rows: list[tuple[str, str]],
             columns: list[tuple[str, str]], count: Callable[[str, str], int],
             link: Callable[[str, str], str]) -> str:
    """A grid of rows by columns; each cell a dot sized by its count, with the count as text."""
    left, top, cell_w, cell_h = 230, 56, 120, 64
    width = left + cell_w * max(len(columns), 1) + 20
    height = top + cell_h * max(len(rows), 1) + 20
    counts = {(r, c): count(r, c) for r, _ in rows for c, _ in columns}
    biggest = max([*counts.values(), 1])
    # "img" hides its content; with links in it, the chart is a labelled group of them.
    role = "group" if any(counts.values()) else "img"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="{role}" aria-labelledby="{name}-title {name}-desc" class="chart">',
             f'<title id="{name}-title">{escape(title)}</title>',
             f'<desc id="{name}-desc">{escape(description)}</desc>']
    for j, (_, label) in enumerate(columns):
        x = left + cell_w * j + cell_w / 2
        lines = wrap(label, 16)
        for k, line in enumerate(lines):
            parts.append(f'<text x="{x:.0f}" y="{top - 12 - 15 * (len(lines) - 1 - k)}" '
                         f'class="fig-axis">{escape(line)}</text>')
    for i, (row, row_label) in enumerate(rows):
        y = top + cell_h * i + cell_h / 2
        parts.append(f'<text x="{left - 10}" y="{y + 5:.0f}" class="fig-axis fig-level">'
                     f"{escape(row_label[:34])}</text>")
        for j, (column, column_label) in enumerate(columns):
            x = left + cell_w * j + cell_w / 2
            n = counts[(row, column)]
            parts.append(f'<rect x="{x - cell_w / 2 + 2:.0f}" y="{y - cell_h / 2 + 2:.0f}" '
                         f'width="{cell_w - 4}" height="{cell_h - 4}" class="fig-cell"/>')
            radius = 0 if n == 0 else 6 + 20 * (n / biggest) ** 0.5
            body = (f"<title>{escape(row_label)}, {escape(column_label)}: {n}</title>"
                    + (f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{radius:.1f}" class="fig-dot"/>'
                       if n else "")
                    + f'<text x="{x:.0f}" y="{y + 5:.0f}" class="fig-count">{n}</text>')
            parts.append(f'<a href="{escape(link(row, column))}">{body}</a>' if n
                         else f"<g>{body}</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(name: str, title: str, description: str,
              bars: list[tuple[str, int, str]]) -> str:
    """Horizontal bars (label, count, link), one per line, the count written after each bar."""
    left, top, bar_h, span = 200, 10, 24, 360
    height = top + bar_h * max(len(bars), 1) + 10
    biggest = max([n for _, n, _ in bars] + [1])
    role = "group" if any(href for _, _, href in bars) else "img"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + span + 60} '
             f'{height}" role="{role}" aria-labelledby="{name}-title {name}-desc" class="chart">',
             f'<title id="{name}-title">{escape(title)}</title>',
             f'<desc id="{name}-desc">{escape(description)}</desc>']
    for i, (label, n, href) in enumerate(bars):
        y = top + bar_h * i
        length = max(2.0, span * n / biggest)
        body = (f"<title>{escape(label)}: {n}</title>"
                f'<text x="{left - 8}" y="{y + 16}" class="fig-axis fig-level">'
                f"{escape(label[:30])}</text>"
                f'<rect x="{left}" y="{y + 4}" width="{length:.1f}" height="{bar_h - 8}" '
                f'class="fig-bar"/>'
                f'<text x="{left + length + 6:.1f}" y="{y + 16}" class="fig-value">{n}</text>')
        parts.append(f'<a href="{escape(href)}">{body}</a>' if href else f"<g>{body}</g>")
    if not bars:
        parts.append(f'<text x="{left}" y="{top + 16}" class="fig-value">0</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _grid(index: CaseIndex, flt: Filter, mask: int, lang: str, name: str, title: str,
          facets: tuple[str, str], preferred: tuple[tuple[str, ...], tuple[str, ...]],
          link: Callable[[Filter], str]) -> Chart:
    row_key, column_key = facets
    row_values = _ordered([v for v, m in index.masks.get(row_key, {}).items()],
                          preferred[0], index, lang)
    column_values = _ordered([v for v, m in index.masks.get(column_key, {}).items()],
                             preferred[1], index, lang)

    def count(row: str, column: str) -> int:
        return (mask & index.mask(row_key, row) & index.mask(column_key, column)).bit_count()

    def href(row: str, column: str) -> str:
        narrowed = flt
        for key, value in ((row_key, row), (column_key, column)):
            if (key, value) not in narrowed.selected:
                narrowed = narrowed.toggled(key, value)
        return link(narrowed)

    rows = [(v, index.label(v, lang)) for v in reversed(row_values)]
    columns = [(v, index.label(v, lang)) for v in column_values]
    total = mask.bit_count()
    description = (f"{len(rows)} {BY_KEY[row_key].label.lower()} values by {len(columns)} "
                   f"{BY_KEY[column_key].label.lower()} values; each cell counts the cases, of "
                   f"the {total} listed, coded with both.")
    svg = dot_grid(name, title, description, rows, columns, count, href)
    data: list[tuple[str, ...]] = [(r, rl, c, cl, str(count(r, c)))
                                   for r, rl in rows for c, cl in columns]
    r_var, c_var = f"?{row_key}", f"?{column_key}"
    sparql = (PREFIX_BLOCK + f"SELECT {r_var} {c_var} (COUNT(DISTINCT ?case) AS ?cases) WHERE {{\n"
              + where(flt) + "\n  " + BY_KEY[row_key].pattern.replace("?v", r_var) + "\n  "
              + BY_KEY[column_key].pattern.replace("?v", c_var)
              + f"\n}} GROUP BY {r_var} {c_var}\n")
    return Chart(name, title, description, svg,
                 (row_key, f"{row_key}_label", column_key, f"{column_key}_label", "cases"),
                 data, sparql)


def charts(index: CaseIndex, flt: Filter, mask: int, lang: str,
           link: Callable[[Filter], str]) -> list[Chart]:
    """The four charts of the cases in ``mask`` (the filter's cases)."""
    found = [
        _grid(index, flt, mask, lang, "level-phase", "Cases by level and phase",
              ("level", "phase"), (LEVELS, PHASES), link),
        _grid(index, flt, mask, lang, "relation-service", "Cases by relation type and "
              "service kind", ("relation", "servicekind"), ((), ()), link),
    ]
    by_country = sorted(((v, (m & mask).bit_count()) for v, m in
                         index.masks.get("country", {}).items()), key=lambda p: -p[1])
    by_country = [(v, n) for v, n in by_country if n][:MAX_BARS]
    bars = [(index.label(v, lang), n, link(flt if ("country", v) in flt.selected
                                           else flt.toggled("country", v)))
            for v, n in by_country]
    total = mask.bit_count()
    description = (f"The {len(bars)} countries with the most cases among the {total} listed, "
                   "one bar per country.")
    found.append(Chart(
        "country", "Cases by country", description,
        bar_chart("country", "Cases by country", description, bars),
        ("country", "country_label", "cases"),
        [(v, index.label(v, lang), str(n)) for v, n in by_country],
        PREFIX_BLOCK + "SELECT ?country (COUNT(DISTINCT ?case) AS ?cases) WHERE {\n" + where(flt)
        + "\n  ?case cp:country ?country .\n} GROUP BY ?country ORDER BY DESC(?cases)\n"))
    years = Counter(index.records[p].start[:4] for p in iter_bits(mask)
                    if index.records[p].start[:4].isdigit())
    year_bars = [(year, years[year], "") for year in sorted(years)][-60:]
    description = (f"How many of the {total} listed cases started in each year "
                   f"({sum(years.values())} give a start date).")
    found.append(Chart(
        "start-year", "Cases by start year", description,
        bar_chart("start-year", "Cases by start year", description, year_bars),
        ("year", "cases"), [(y, str(n)) for y, n, _ in year_bars],
        PREFIX_BLOCK + "SELECT ?year (COUNT(DISTINCT ?case) AS ?cases) WHERE {\n" + where(flt)
        + "\n  ?case cp:startDate ?start .\n  BIND(SUBSTR(STR(?start), 1, 4) AS ?year)\n"
        "} GROUP BY ?year ORDER BY ?year\n"))
    return found
