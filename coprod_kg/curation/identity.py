"""Checks of a submission's identity: which case it is, and which resources it may describe.

Rules (issue 5, point 6, and the curation design):

- the record is not empty and describes at least one IRI (not only blank nodes);
- it holds exactly ONE ``cp:CoProductionCase``, whose IRI is ``https://w3id.org/coprod/case/``
  followed by a kebab-case slug, spelled canonically (not ``HTTPS://W3ID.org/...``, no
  percent-encoding, no dot-segments: :class:`OutsideCase`, naming the typing triple);
- every subject is the case IRI, one of its fragments (``case:slug#part``), a blank node, or a
  resource outside the case namespace (an organisation, agent, person or source) that the record
  defines: such a resource must not already be described by another public graph (checked by
  the service over the store), so a submission can add an organisation but never rewrite one
  that another record owns; no subject may be another case or another case's fragment.
"""

from __future__ import annotations

import re

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF

from coprod_kg.curation.iris import iri_offence
from coprod_kg.curation.model import CASE_BASE
from coprod_kg.errors import OutsideCase, Unprocessable
from coprod_kg.rdf.namespaces import CP

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def case_of(graph: Graph) -> str:
    """The IRI of the one case ``graph`` describes; :class:`Unprocessable` in plain words."""
    if len(graph) == 0:
        raise Unprocessable("the submission is empty: send one case record "
                            "(a cp:CoProductionCase with its description)")
    if not any(isinstance(s, URIRef) for s in graph.subjects()):
        raise Unprocessable("the submission describes only blank nodes: give the case an IRI "
                            f"under {CASE_BASE}")
    cases = sorted(set(graph.subjects(RDF.type, CP.CoProductionCase)), key=str)
    if not cases:
        raise Unprocessable("the submission holds no case: one resource must be typed "
                            "cp:CoProductionCase")
    if len(cases) > 1:
        raise Unprocessable("the submission holds several cases "
                            f"({', '.join(str(c) for c in cases)}): send one case per record")
    case = cases[0]
    if isinstance(case, BNode) or not isinstance(case, URIRef):
        raise Unprocessable(f"the case is a blank node: give it an IRI under {CASE_BASE}")
    iri = str(case)
    spelling = iri_offence(iri)
    if spelling is not None:  # HTTPS://W3ID.org/..., %-encoded or dot-segment variants
        triple = f"<{iri}> <{RDF.type}> <{CP.CoProductionCase}> ."
        raise OutsideCase(iri, [f"{triple} -- the case IRI <{iri}>: {spelling}"])
    if not iri.startswith(CASE_BASE):
        raise Unprocessable(f"the case IRI {iri} is outside the allowed base {CASE_BASE}")
    if not SLUG.fullmatch(iri[len(CASE_BASE):]):
        raise Unprocessable(f"the case IRI {iri} must end in a kebab-case slug "
                            "(lower-case letters, digits and single hyphens)")
    return iri


def foreign_subjects(graph: Graph, case: str) -> set[str]:
    """IRI subjects outside the case and its fragments; refuses other cases' IRIs."""
    out: set[str] = set()
    for subject in set(graph.subjects()):
        if not isinstance(subject, URIRef):
            continue
        iri = str(subject)
        if iri == case or iri.startswith(case + "#"):
            continue
        if iri.startswith(CASE_BASE):
            raise Unprocessable(f"the submission describes {iri}, which belongs to another "
                                f"case; a record may only describe {case} and its parts "
                                f"({case}#...)")
        out.add(iri)
    return out
