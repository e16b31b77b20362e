"""Synthetic knowledge graphs that follow the case shapes, from a fixed seed.

Each synthetic case has the shape of a curated record (service, provider, participations,
codings with tasks and evidence, curation metadata), drawn at random from the ontology's
concept schemes, so the query mix exercises the same paths as on the real data.

    python -m bench.generate 100000 bench/results/kg-100k.nt
"""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Iterator
from pathlib import Path

from coprod_kg.rdf.namespaces import AGENT, CASE, COUNTRY, CP, CPC, ORGANISATION, SRC

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"

LEVELS = ["individual-level", "collective-level", "mixed-level"]
PHASES = ["commissioning-phase", "design-phase", "delivery-phase", "evaluation-phase"]
RELATIONS = ["interdependent", "supplementary", "complementary"]
FIELDS = ["childcare", "education", "health-care", "social-care", "public-safety", "housing"]
SECTORS = ["public-sector", "for-profit-sector", "third-sector"]
ROLES = ["regular-producer", "client", "parent", "volunteer", "citizen"]
COUNTRIES = ["SE", "DE", "FR", "GB", "JP", "BR", "IT", "PK", "NL", "PL"]
# N-Triples lines per synthetic case on average (measured: 49,031 lines for 1,000 cases).
TRIPLES_PER_CASE = 49
WORDS = ("parent", "school", "health", "street", "budget", "care", "youth", "elder", "safety",
         "garden", "library", "recovery", "housing", "repair", "food", "transport")


def _iri(namespace: object, local: str) -> str:
    return f"<{namespace}{local}>"


def _lit(text: str, lang: str = "en") -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + f'"@{lang}'


def _typed(text: str, datatype: str) -> str:
    return f'"{text}"^^<{XSD}{datatype}>'


def case_triples(rng: random.Random, n: int, n_orgs: int, n_sources: int) -> Iterator[str]:
    """The N-Triples lines of synthetic case number ``n``."""
    case = f"<{CASE}synthetic-{n}>"
    words = " ".join(rng.sample(WORDS, 3))
    yield f"{case} {RDF_TYPE} {_iri(CP, 'CoProductionCase')} ."
    yield f"{case} {RDF_TYPE} {_iri(CP, 'DocumentedCase')} ."
    yield f"{case} <{DCT}title> {_lit(f'Synthetic case {n}: {words}')} ."
    description = _lit(f"A generated co-production arrangement about {words}.")
    yield f"{case} <{DCT}description> {description} ."
    yield f"{case} {_iri(CP, 'country')} {_iri(COUNTRY, rng.choice(COUNTRIES))} ."
    yield f"{case} {_iri(CP, 'startDate')} {_typed(str(rng.randint(1970, 2020)), 'gYear')} ."
    service = f"<{CASE}synthetic-{n}#service>"
    yield f"{case} {_iri(CP, 'service')} {service} ."
    yield f"{service} {RDF_TYPE} {_iri(CP, 'PublicService')} ."
    yield f"{service} {RDFS_LABEL} {_lit(f'{words} service')} ."
    yield f"{service} {_iri(CP, 'serviceField')} {_iri(CPC, rng.choice(FIELDS))} ."
    org = _iri(ORGANISATION, f"synthetic-{rng.randrange(n_orgs)}")
    yield f"{case} {_iri(CP, 'provider')} {org} ."
    for p in range(rng.randint(1, 2)):
        part = f"<{CASE}synthetic-{n}#participation-{p + 1}>"
        group = f"<{CASE}synthetic-{n}#group-{p + 1}>"
        yield f"{case} <http://data.europa.eu/m8g/hasParticipation> {part} ."
        yield f"{part} {RDF_TYPE} <http://data.europa.eu/m8g/Participation> ."
        yield f"{part} <http://data.europa.eu/m8g/role> {_iri(CPC, rng.choice(ROLES))} ."
        yield f"{part} <http://data.europa.eu/m8g/hasParticipant> {group} ."
        yield f"{group} {RDF_TYPE} {_iri(CP, 'ActorGroup')} ."
        yield f"{group} {RDFS_LABEL} {_lit(f'participants {p + 1} of case {n}')} ."
    source = _iri(SRC, f"synthetic-{rng.randrange(n_sources)}")
    yield f"{case} <http://purl.org/spar/cito/citesAsEvidence> {source} ."
    for c in range(rng.randint(1, 3)):
        coding = f"<{CASE}synthetic-{n}#coding-{c + 1}>"
        level = rng.choice(LEVELS)
        relation = rng.choice(RELATIONS)
        yield f"{case} {_iri(CP, 'hasCoding')} {coding} ."
        yield f"{coding} {RDF_TYPE} {_iri(CP, 'Coding')} ."
        yield f"{coding} {_iri(CP, 'level')} {_iri(CPC, level)} ."
        yield f"{coding} {_iri(CP, 'phase')} {_iri(CPC, rng.choice(PHASES))} ."
        yield f"{coding} {_iri(CP, 'relationType')} {_iri(CPC, relation)} ."
        if relation == "complementary":
            task = f"<{CASE}synthetic-{n}#task-{c + 1}>"
            yield f"{coding} {_iri(CP, 'clientTask')} {task} ."
            yield f"{task} {RDF_TYPE} {_iri(CP, 'ClientTask')} ."
            yield f"{task} {RDFS_LABEL} {_lit(rng.choice(WORDS) + ' work')} ."
            yield f"{task} {_iri(CP, 'taskKind')} {_iri(CPC, 'peripheral-task')} ."
        if level in ("collective-level", "mixed-level"):  # who acts together (cpsh rule)
            yield f"{coding} {_iri(CP, 'actsThrough')} {org} ."
        yield f"{coding} {_iri(CP, 'evidenceSource')} {source} ."
        yield f"{coding} {_iri(CP, 'locator')} \"p. {rng.randint(1, 300)}\" ."
        # A stated coding quotes its passage, as a curated record must.
        quote = f"In case {n}, {words} is co-produced ({relation}, {level})."
        yield f"{coding} {_iri(CP, 'quote')} {_lit(quote)} ."
        yield f"{coding} {_iri(CP, 'evidenceBasis')} {_iri(CPC, 'stated-in-source')} ."
    yield f"{case} <http://www.w3.org/ns/prov#wasAttributedTo> {_iri(AGENT, 'coprod-kg-editors')} ."
    yield f"{case} <{DCT}created> {_typed('2026-01-01', 'date')} ."
    yield f"{case} <{DCT}modified> {_typed('2026-01-01', 'date')} ."
    yield f"{case} {_iri(CP, 'curationStatus')} {_iri(CPC, 'published')} ."
    yield f"{case} <{DCT}license> <https://creativecommons.org/licenses/by/4.0/> ."


def shared_triples(n_orgs: int, n_sources: int) -> Iterator[str]:
    """Organisations and sources that synthetic cases point to."""
    sectors = SECTORS
    for i in range(n_orgs):
        org = _iri(ORGANISATION, f"synthetic-{i}")
        yield f"{org} {RDF_TYPE} {_iri(CP, 'Organisation')} ."
        yield f"{org} {RDFS_LABEL} {_lit(f'Synthetic organisation {i}')} ."
        yield f"{org} {_iri(CP, 'sector')} {_iri(CPC, sectors[i % len(sectors)])} ."
        member = _typed("true" if i % 2 else "false", "boolean")
        yield f"{org} {_iri(CP, 'membershipBased')} {member} ."
    for i in range(n_sources):
        src = _iri(SRC, f"synthetic-{i}")
        yield f"{src} {RDF_TYPE} <http://purl.org/ontology/bibo/AcademicArticle> ."
        yield f"{src} {RDFS_LABEL} {_lit(f'Synthetic source {i}')} ."
        yield f"{src} <{DCT}title> {_lit(f'A study of co-production, number {i}')} ."
        yield f"{src} <http://purl.org/ontology/bibo/doi> \"10.5555/synthetic.{i}\" ."


def generate(target_triples: int, seed: int = 20151101) -> Iterator[str]:
    """About ``target_triples`` N-Triples lines, the same for the same seed."""
    rng = random.Random(seed)
    n_cases = max(1, target_triples // TRIPLES_PER_CASE)
    n_orgs = max(1, n_cases // 5)
    n_sources = max(1, n_cases // 10)
    yield from shared_triples(n_orgs, n_sources)
    for n in range(n_cases):
        yield from case_triples(rng, n, n_orgs, n_sources)


def write(target_triples: int, path: Path, seed: int = 20151101) -> int:
    """Write a synthetic graph to ``path`` atomically; returns the number of triples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as out:
        for line in generate(target_triples, seed):
            out.write(line + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate a synthetic coprod-kg graph.")
    parser.add_argument("triples", type=int, help="approximate number of triples")
    parser.add_argument("output", type=Path, help="N-Triples file to write")
    parser.add_argument("--seed", type=int, default=20151101, help="random seed")
    args = parser.parse_args()
    print(write(args.triples, args.output, args.seed), "triples written to", args.output)


if __name__ == "__main__":
    main()
