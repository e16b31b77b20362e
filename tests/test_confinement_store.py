"""Accepting a legitimate record changes nothing outside its own case (issue 9).

"Outside its case" is defined precisely here. Compared before and after a submit + accept:

1. **Graph by graph**: every quad of every graph is unchanged, except in the version's graph
   and its entailment graph (``graph/case/{slug}/v1`` and ``…/v1/inferred``), and the version's
   own records: in the private curation graph, triples whose subject is the version graph; in
   the public provenance graph, triples whose subject is the version graph or one of its
   qualified attributions (blank nodes it points to). The manifest graph of the remote back end
   (bookkeeping, private) is left out.
2. **What the public sees** (the union of the public graphs): every triple whose subject is not
   the case, one of its parts, a resource the record mints or a provenance node of the version
   is unchanged, except for typings of a referenced organisation, person or source as what its
   namespace says it is (``cp:Organisation``..., ``bibo:Document``).

A record that bypasses the check (stored with the confinement skipped) breaks rule 2, so the
comparison is shown to fail when it should.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coprod_kg.config import Settings
from coprod_kg.curation import CURATION_GRAPH, PROVENANCE_GRAPH, Curation, VersionInfo, updates
from coprod_kg.curation.prepare import prepare
from coprod_kg.errors import OutsideCase
from coprod_kg.storage.remote.manifests import MANIFEST_GRAPH
from tests.curation_helpers import ALICE, BOB, writable_copy

VALID = Path(__file__).parent / "data" / "valid" / "case-with-own-source.ttl"
CASE = "https://w3id.org/coprod/case/confined-case"
MINTED = {"https://w3id.org/coprod/organisation/confined-org",
          "https://w3id.org/coprod/source/confined-source-2020"}
KIND_TYPES = {"<https://w3id.org/coprod/ontology/Organisation>",
              "<https://w3id.org/coprod/ontology/Agent>", "<http://www.w3.org/ns/org#Organization>",
              "<http://www.w3.org/ns/prov#Agent>", "<http://purl.org/ontology/bibo/Document>"}
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
PROV_QUALIFIED = "<http://www.w3.org/ns/prov#qualifiedAttribution>"

Quad = tuple[str, str, str, str]  # graph, subject, predicate, object (N-Triples terms)


def legitimate(slug: str = "confined-case") -> bytes:
    """A conforming record minting a new organisation and a new source."""
    text = VALID.read_text(encoding="utf-8")
    text = (text.replace("test-own-source-case", slug)
            .replace("test-preschool-cooperative", "confined-org")
            .replace("test-source-2020", "confined-source-2020"))
    return text.encode("utf-8")


@pytest.fixture
def cur(real_store: Path, tmp_path: Path) -> Iterator[Curation]:
    settings: Settings = writable_copy(real_store, tmp_path)
    service = Curation.open(settings)
    yield service
    service.close()


def quads(cur: Curation) -> set[Quad]:
    """Every quad of the store's named graphs."""
    rows = cur.writer().select("SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    return {(str(r["g"]), str(r["s"]), str(r["p"]), str(r["o"])) for r in rows}


def public_union(cur: Curation, all_quads: set[Quad]) -> set[tuple[str, str, str]]:
    """The triples of the public graphs, as /sparql's default graph holds them."""
    manifest = cur.manifests().read()
    assert manifest is not None
    public = {f"<{g}>" for g in manifest.public_graphs()}
    return {(s, p, o) for g, s, p, o in all_quads if g in public}


def _own_record(quad: Quad, info: VersionInfo, attributions: set[str]) -> bool:
    graph, subject = quad[0], quad[1]
    if graph in (f"<{info.graph}>", f"<{info.inferred_graph}>", f"<{MANIFEST_GRAPH}>"):
        return True
    if graph == f"<{CURATION_GRAPH}>":
        # the writer's own bookkeeping: the marker of its last journaled write (private)
        return subject == f"<{info.graph}>" or subject.startswith(f"<{CURATION_GRAPH}#write-")
    return graph == f"<{PROVENANCE_GRAPH}>" and (subject == f"<{info.graph}>"
                                                  or subject in attributions)


def _own_subject(subject: str, info: VersionInfo, minted: set[str],
                 attributions: set[str]) -> bool:
    iri = subject[1:-1]
    return (iri == info.case or iri.startswith(info.case + "#") or iri in minted
            or iri == info.graph or subject in attributions)


def changes_outside(before: set[Quad], after: set[Quad], union_before: set[tuple[str, str, str]],
                    union_after: set[tuple[str, str, str]], info: VersionInfo,
                    minted: set[str]) -> list[str]:
    """Every change that rules 1 and 2 of the module's docstring forbid, as lines."""
    attributions = {o for g, s, p, o in after if g == f"<{PROVENANCE_GRAPH}>"
                    and s == f"<{info.graph}>" and p == PROV_QUALIFIED}
    out = [f"graph: {'+' if q in after else '-'} {q}" for q in sorted(before ^ after)
           if not _own_record(q, info, attributions)]
    for triple in sorted(union_before ^ union_after):
        subject, predicate, obj = triple
        if _own_subject(subject, info, minted, attributions):
            continue
        kind = triple in union_after and predicate == RDF_TYPE and obj in KIND_TYPES and any(
            subject.startswith(f"<https://w3id.org/coprod/{ns}/")
            for ns in ("organisation", "person", "source"))
        if not kind:
            out.append(f"public: {'+' if triple in union_after else '-'} {triple}")
    return out


def test_accepting_a_legitimate_record_changes_nothing_outside_its_case(cur: Curation) -> None:
    before = quads(cur)
    union_before = public_union(cur, before)
    outcome = cur.submit(legitimate(), "text/turtle", ALICE)
    assert outcome.version.case == CASE
    published = cur.accept(CASE, 1, BOB)
    after = quads(cur)
    union_after = public_union(cur, after)
    info = cur.version_info(CASE, 1, BOB)
    assert info.inferred_triples  # its entailments were written
    assert changes_outside(before, after, union_before, union_after, published, MINTED) == []
    # the record is there, with what it mints, and its entailments
    assert any(s == f"<{CASE}>" for s, _, _ in union_after - union_before)
    assert any(s[1:-1] in MINTED for s, _, _ in union_after - union_before)
    assert any(g == f"<{info.inferred_graph}>" for g, _, _, _ in after - before)


def test_the_comparison_catches_a_record_that_bypasses_the_check(cur: Curation) -> None:
    attack = legitimate("bypass-case") + (
        b"\n<https://w3id.org/coprod/case/bypass-case#coding-1> "
        b"<https://w3id.org/coprod/ontology/isNewTo> "
        b"<https://w3id.org/coprod/case/fixmystreet> .\n")
    with pytest.raises(OutsideCase) as refused:
        cur.submit(attack, "text/turtle", ALICE)
    assert "<https://w3id.org/coprod/case/fixmystreet> " in str(refused.value)
    before = quads(cur)
    union_before = public_union(cur, before)
    item = prepare(attack, "text/turtle", "bypass.ttl", None)  # no store check, no SHACL
    info = cur.new_version(item, BOB, 1, True, None)
    with cur.lock:
        cur.commit(updates.insert_versions([updates.NewVersion(info, item.triples)]), "bob",
                   "publish", info.graph)
    after = quads(cur)
    found = changes_outside(before, after, union_before, public_union(cur, after), info,
                            MINTED)
    assert union_before != public_union(cur, after)
    assert any("case/fixmystreet>" in line and "Organisation" in line for line in found), found


@pytest.fixture
def cli_settings(real_store: Path, tmp_path: Path) -> Settings:
    from coprod_kg.curation.accounts import Accounts

    settings: Settings = writable_copy(real_store, tmp_path)
    accounts = Accounts(settings.store)
    accounts.add("alice", "contributor")
    accounts.add("bob", "curator")
    return settings


def test_the_command_line_refuses_with_exit_1_and_shows_entailments(
        cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coprod_kg.cli import main

    store = ["--store", str(cli_settings.store)]
    agent = (b'\n<https://w3id.org/coprod/agent/alice> '
             b'<http://www.w3.org/2000/01/rdf-schema#label> "Mallory"@en .\n')
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(legitimate("cli-bad") + agent)
    assert main(["submit", *store, str(bad), "--as", "alice"]) == 1
    err = capsys.readouterr().err
    assert '<https://w3id.org/coprod/agent/alice> <http://www.w3.org/2000/01/rdf-schema#label> ' \
           '"Mallory"@en' in err

    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "good.ttl").write_bytes(legitimate("cli-good"))
    (folder / "same-org.ttl").write_bytes(legitimate("cli-same-org"))  # mints the same org
    assert main(["import", *store, str(folder), "--as", "bob"]) == 1
    err = capsys.readouterr().err
    assert "https://w3id.org/coprod/organisation/confined-org is also described in" in err
    (folder / "same-org.ttl").write_bytes(legitimate("cli-same-org") + agent)
    assert main(["import", *store, str(folder), "--as", "bob"]) == 1
    assert "<https://w3id.org/coprod/agent/alice>" in capsys.readouterr().err

    good = tmp_path / "good.ttl"
    good.write_bytes(legitimate("cli-good"))
    assert main(["submit", *store, str(good), "--as", "alice"]) == 0
    capsys.readouterr()
    assert main(["review", *store, "show", "cli-good", "1"]) == 0
    out = capsys.readouterr().out
    entailed = [line for line in out.splitlines() if line.endswith("# entailed")]
    assert ("+ <https://w3id.org/coprod/organisation/confined-org> "
            f"{RDF_TYPE} <https://w3id.org/coprod/ontology/Agent> . # entailed") in entailed
    assert all(line.startswith(("+ ", "- ")) for line in entailed)
