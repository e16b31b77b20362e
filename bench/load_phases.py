"""``python -m bench.load_phases``: where the time of one ``coprod-kg load`` goes, phase by phase.

    python -m bench.generate 1000000 /tmp/kg.nt
    python -m bench.load_phases --store /tmp/phases-store /tmp/kg.nt

Runs ``coprod-kg load --store STORE FILE...`` in this process with its phases wrapped, then
prints a timeline: each phase's start and end (seconds since the load started), the thread it
ran in, and the CPU seconds that thread used meanwhile (the engine's own threads, its bulk
loader and its compactions, are not in that column: they are in the process's total, printed
last). The phases are the load's own functions (:mod:`coprod_kg.loading.load` and what it
calls), so a renamed function is reported as missing instead of silently not timed. A new
store directory gives the first load's timeline, a loaded one a reload's (unchanged sources
are skipped); nothing here is asserted.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: (module, attribute path, label): what is timed. A name the load imported into its own module
#: is wrapped there, where the load looks it up.
PHASES = (
    ("coprod_kg.loading.load", "_parse_sources", "parse every changed source (scratch store)"),
    ("coprod_kg.loading.storing", "store_parsed", "write one source's graph"),
    ("coprod_kg.loading.load", "read_bundled", "read and check the bundled case files"),
    ("coprod_kg.loading.load", "_import_cases", "publish the bundled cases (curation)"),
    ("coprod_kg.loading.inference", "Inference._run", "the rules over the files (thread)"),
    ("coprod_kg.loading.inference", "Inference.finish", "wait for the rules"),
    ("coprod_kg.loading.load", "write_derived", "write the files' entailments"),
    ("coprod_kg.storage.embedded.manifests", "sync_view", "public view and snapshot"),
    ("coprod_kg.storage.embedded.public_view", "_rebuild", "view from the store's backup"),
)
#: Writes of one graph shorter than this are summed instead of listed (the bundled data's
#: small graphs).
SHORT_SECONDS = 0.05


@dataclass
class Span:
    """One timed call."""

    label: str
    thread: str
    start: float
    end: float
    thread_cpu: float


class Timeline:
    """The spans of the wrapped functions, relative to :attr:`origin`."""

    def __init__(self) -> None:
        self.origin = time.perf_counter()
        self.spans: list[Span] = []
        self._lock = threading.Lock()

    def wrap(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                span = Span(label, threading.current_thread().name, start - self.origin,
                            time.perf_counter() - self.origin, time.thread_time() - cpu)
                with self._lock:
                    self.spans.append(span)
        return timed


def _resolve(module_name: str, path: str) -> tuple[Any, str] | None:
    """The object holding the function at ``path`` of ``module_name``, and its name; ``None``
    when there is no such function."""
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
    if owner is None or not callable(vars(owner).get(name)):
        return None
    return owner, name


def missing_phases() -> list[str]:
    """The phases of :data:`PHASES` the load no longer has."""
    return [f"{module}.{path}" for module, path, _ in PHASES if _resolve(module, path) is None]


def install(timeline: Timeline) -> None:
    """Wrap every phase of :data:`PHASES` (check :func:`missing_phases` first)."""
    for module_name, path, label in PHASES:
        found = _resolve(module_name, path)
        assert found is not None
        owner, name = found
        setattr(owner, name, timeline.wrap(vars(owner)[name], label))


def report(timeline: Timeline, wall: float, process_cpu: float) -> str:
    """The timeline as a Markdown table, short graph writes summed."""
    lines = ["| phase | thread | start s | end s | seconds | thread CPU s |",
             "|---|---|---|---|---|---|"]
    short = [s for s in timeline.spans
             if s.label == "write one source's graph" and s.end - s.start < SHORT_SECONDS]
    for span in sorted((s for s in timeline.spans if s not in short), key=lambda s: s.start):
        lines.append(f"| {span.label} | {span.thread} | {span.start:.2f} | {span.end:.2f} | "
                     f"{span.end - span.start:.2f} | {span.thread_cpu:.2f} |")
    if short:
        threads = ", ".join(sorted({s.thread for s in short}))
        lines.append(f"| {len(short)} shorter graph writes | {threads} | "
                     f"{min(s.start for s in short):.2f} | {max(s.end for s in short):.2f} | "
                     f"{sum(s.end - s.start for s in short):.2f} | "
                     f"{sum(s.thread_cpu for s in short):.2f} |")
    lines.append("")
    lines.append(f"Wall clock {wall:.2f} s; the process used {process_cpu:.2f} CPU-s "
                 f"({process_cpu / wall:.2f} cores on average), its engine threads included.")
    return "\n".join(lines)


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True,
                        help="the store directory to load into (a new one: the first load)")
    parser.add_argument("files", type=Path, nargs="*", metavar="FILE",
                        help="extra RDF files, as for `coprod-kg load`")
    args = parser.parse_args(argv)
    missing = missing_phases()
    if missing:
        parser.error(f"the load no longer has {', '.join(missing)}: update bench/load_phases.py")
    timeline = Timeline()
    install(timeline)  # before the command line imports what it calls
    from coprod_kg.cli import main as cli

    cpu = _process_cpu()
    timeline.origin = time.perf_counter()
    code = cli(["load", "--store", str(args.store), *map(str, args.files)])
    if code != 0:
        raise SystemExit(code)
    print(report(timeline, time.perf_counter() - timeline.origin, _process_cpu() - cpu))


if __name__ == "__main__":
    main()
