"""The request lists of the native run, each built from a fixed seed.

* :func:`repeated_mix`: the bench's query templates (a few instances of each) and the
  competency questions, ranked in a seeded order and drawn with Zipf weights (rank ``k`` has
  weight ``1 / k**s``): a read-mostly workload where popular queries come back often.
* :func:`uncached_lookups`: light lookups, each about a different resource of the store and in
  one of a few query forms, so no answer can be reused; sliced so that no two runs share one.
* :func:`heavy`: the aggregation and join templates, each request made distinct by a one-row
  ``VALUES`` over a variable the query does not use (same answer, different text), so the
  engine runs every one.
* :func:`trivial`: the fixed-cost probe, a one-row lookup of a different resource each time.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from pathlib import Path

from bench.loadgen import Query

COMPETENCY_DIR = Path(__file__).resolve().parent.parent / "tests" / "competency"
#: The lookup forms of the uncached scenario, ``{iri}`` a resource of the store.
LOOKUP_FORMS = (
    "SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}",
    "DESCRIBE <{iri}>",
    "SELECT ?s ?p WHERE {{ ?s ?p <{iri}> }}",
    "ASK {{ <{iri}> ?p ?o }}",
)
TRIVIAL_FORM = "SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} LIMIT 1"
HEAVY_CLASSES = ("aggregation", "join")


def competency_queries(directory: Path = COMPETENCY_DIR) -> list[tuple[str, str]]:
    """(name, text) of every competency question."""
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.rq"))]


def _has_placeholder(query: Query) -> bool:
    return any(mark in query.template for mark in ("{N}", "{ORG}", "{WORD}"))


def mix_universe(queries: list[Query], n_cases: int, seed: int,
                 instances: int = 8) -> list[tuple[str, str]]:
    """(label, text) of every distinct query of the repeated mix, in a seeded rank order."""
    rng = random.Random(seed)
    items: list[tuple[str, str]] = []
    for query in queries:
        count = instances if _has_placeholder(query) else 1
        texts = {query.instance(rng, n_cases) for _ in range(count * 3)}
        items += [(query.klass, text) for text in sorted(texts)[:count]]
    items += [("competency", text) for _, text in competency_queries()]
    rng.shuffle(items)
    return items


def repeated_mix(queries: list[Query], n_cases: int, seed: int, length: int,
                 skew: float = 1.0) -> tuple[list[str], dict[str, float]]:
    """``length`` queries drawn with Zipf weights; also each class's share of the draws."""
    universe = mix_universe(queries, n_cases, seed)
    weights = [1.0 / (rank + 1) ** skew for rank in range(len(universe))]
    rng = random.Random(seed + 1)
    drawn = rng.choices(universe, weights=weights, k=length)
    shares = Counter(label for label, _ in drawn)
    return [text for _, text in drawn], {k: v / length for k, v in sorted(shares.items())}


def resources(quads: Path, limit: int | None = None) -> list[str]:
    """The distinct IRI subjects of an N-Quads file, in file order."""
    seen: dict[str, None] = {}
    with quads.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("<"):
                seen.setdefault(line[1:line.index(">")], None)
                if limit is not None and len(seen) >= limit:
                    break
    return list(seen)


def uncached_lookups(iris: list[str], seed: int) -> list[str]:
    """Every (resource, lookup form) pair once, in a seeded order."""
    pairs = list(itertools.product(iris, LOOKUP_FORMS))
    random.Random(seed).shuffle(pairs)
    return [form.format(iri=iri) for iri, form in pairs]


def heavy(queries: list[Query], n_cases: int, seed: int, length: int) -> list[str]:
    """``length`` heavy requests (aggregation and join templates in turn), each distinct."""
    templates = [q for q in queries if q.klass in HEAVY_CLASSES]
    rng = random.Random(seed)
    return [f"{templates[i % len(templates)].instance(rng, n_cases)}\nVALUES ?nonce {{ {i} }}\n"
            for i in range(length)]


def trivial(iris: list[str]) -> list[str]:
    """One trivial lookup per resource."""
    return [TRIVIAL_FORM.format(iri=iri) for iri in iris]
