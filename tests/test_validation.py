"""``coprod_kg.validation.shacl.validate``: fixtures, input formats, safety, lines, reports,
context."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

from coprod_kg.config import load_settings
from coprod_kg.errors import BadInput, ParseError
from coprod_kg.rdf.namespaces import CP
from coprod_kg.rdf.parsing import parse_rdf, quiet_json_ld
from coprod_kg.validation.report import render
from coprod_kg.validation.shacl import ValidationContext, graph_lookup, no_lookup, validate

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
EXPECT = re.compile(r"^# expect: <([^>]+)> <([^>]+)>$", re.MULTILINE)
VALID = sorted((DATA / "valid").glob("*.ttl"))
INVALID = sorted((DATA / "invalid").glob("*.ttl"))
WARNINGS = sorted((DATA / "warnings").glob("*.ttl"))
BASE_RECORD = DATA / "valid" / "parent-cooperative-preschool.ttl"


KG = DATA / "kg"


@pytest.fixture(scope="module")
def context() -> ValidationContext:
    """Ontology and shapes of the checkout; the "knowledge graph" is tests/data/kg."""
    kg = Graph()
    for path in sorted(KG.glob("*.ttl")):
        kg.parse(path)
    assert len(kg), "tests/data/kg is empty"
    return ValidationContext.load(load_settings(), graph_lookup(kg))


def _expected(path: Path) -> tuple[str, str]:
    match = EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, path
    return match.group(1), match.group(2)


def test_fixture_globs_are_not_empty() -> None:
    assert VALID and INVALID and WARNINGS


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_records_conform_without_findings(path: Path, context: ValidationContext) -> None:
    result = validate(path.read_bytes(), "text/turtle", context=context, source_name=path.name)
    assert result.conforms, render(result, "text")
    assert result.findings == [], render(result, "text")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_record_breaks_exactly_its_rule(path: Path, context: ValidationContext) -> None:
    result = validate(path.read_bytes(), "text/turtle", context=context, source_name=path.name)
    assert not result.conforms
    broken = {(str(f.source_shape), str(f.component)) for f in result.violations}
    assert broken == {_expected(path)}, render(result, "text")
    for finding in result.violations:
        assert "sh:" not in finding.message and len(finding.message) > 20
        assert finding.line is not None, finding


@pytest.mark.parametrize("path", WARNINGS, ids=lambda p: p.stem)
def test_warning_record_conforms_but_warns(path: Path, context: ValidationContext) -> None:
    result = validate(path.read_bytes(), "text/turtle", context=context, source_name=path.name)
    assert result.conforms, render(result, "text")
    warned = {(str(f.source_shape), str(f.component)) for f in result.warnings}
    assert warned == {_expected(path)}, render(result, "text")


def test_finding_points_at_the_offending_line(context: ValidationContext) -> None:
    path = DATA / "invalid" / "Case-country-class.ttl"
    lines = path.read_text(encoding="utf-8").splitlines()
    (finding,) = validate(path.read_bytes(), "text/turtle", context=context).violations
    assert finding.line is not None
    assert "country:XX" in lines[finding.line - 1]
    assert finding.expected == "an instance of cp:Country"
    assert finding.value == URIRef("https://w3id.org/coprod/country/XX")


def test_missing_value_points_at_the_subject(context: ValidationContext) -> None:
    path = DATA / "invalid" / "Participation-role-required.ttl"
    lines = path.read_text(encoding="utf-8").splitlines()
    (finding,) = validate(path.read_bytes(), "text/turtle", context=context).violations
    assert finding.line is not None and "#participation-1>" in lines[finding.line - 1]
    assert finding.expected == "at least 1 value(s)"


# --- other input formats ------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "media_type"), [("xml", "application/rdf+xml"),
                                                  ("nt", "application/n-triples"),
                                                  ("json-ld", "application/ld+json")])
def test_same_record_in_every_format(fmt: str, media_type: str,
                                     context: ValidationContext) -> None:
    graph = Graph().parse(BASE_RECORD)
    with quiet_json_ld():
        data = graph.serialize(format=fmt)
    result = validate(data, media_type, context=context)
    assert result.conforms and not result.findings


def test_documented_json_example_conforms(context: ValidationContext) -> None:
    path = ROOT / "docs" / "example-case.json"
    result = validate(path.read_bytes(), "application/ld+json", context=context,
                      source_name=path.name)
    assert result.conforms, render(result, "text")
    assert not result.findings, render(result, "text")


def test_json_example_names_the_facts_beyond_the_typology() -> None:
    """The context maps the new fields to the case model, with their datatypes."""
    path = ROOT / "docs" / "example-case.json"
    graph = parse_rdf(path.read_bytes(), "application/ld+json", source_name=path.name)
    coding = URIRef("https://w3id.org/coprod/case/example-parent-cooperative-preschools#coding-3")
    case = URIRef("https://w3id.org/coprod/case/example-parent-cooperative-preschools")
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert graph.value(coding, CP.trajectory) == URIRef("https://w3id.org/coprod/concept/sustained")
    count = graph.value(coding, CP.participantCount)
    assert isinstance(count, Literal) and count.datatype == URIRef(xsd + "integer")
    for prop in (CP.activity, CP.funding):
        value = graph.value(coding, prop)
        assert isinstance(value, Literal) and value.language == "en", prop
    assert graph.value(case, CP.primaryDocument) == URIRef(
        "https://example.org/preschool/annual-report-2023.pdf")


def test_json_example_uses_the_public_context_iri() -> None:
    document = json.loads((ROOT / "docs" / "example-case.json").read_text(encoding="utf-8"))
    assert document["@context"] == "https://w3id.org/coprod/context.jsonld"


def test_turtle_syntax_error_has_line_and_column(context: ValidationContext) -> None:
    text = BASE_RECORD.read_text(encoding="utf-8").replace(
        'cp:placeName "Stockholm"@sv ;', 'cp:placeName "Stockholm ;')
    with pytest.raises(ParseError) as caught:
        validate(text, "text/turtle", context=context, source_name="broken.ttl")
    assert caught.value.line is not None and caught.value.line > 15
    assert "broken.ttl" in str(caught.value)


def test_ntriples_and_json_errors_have_lines(context: ValidationContext) -> None:
    with pytest.raises(ParseError) as nt:
        validate("<https://a.org/x> <https://a.org/p> <https://a.org/o> .\n<x> y z\n",
                 "application/n-triples", context=context)
    assert nt.value.line == 2
    with pytest.raises(ParseError) as js:
        validate('{\n  "@id": "https://a.org/x",\n  oops\n}', "application/ld+json",
                 context=context)
    assert js.value.line == 3


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("validation tried to open a URL")


def test_remote_json_ld_context_is_refused_without_a_request(
        context: ValidationContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    for doc in ({"@context": "https://example.org/ctx.jsonld", "@id": "https://a.org/x"},
                {"@context": [{"@import": "https://example.org/ctx.jsonld"}]},
                {"@context": {"p": {"@id": "https://a.org/p",
                                    "@context": "https://example.org/scoped"}}}):
        with pytest.raises(BadInput, match="not fetched"):
            validate(json.dumps(doc), "application/ld+json", context=context)


def test_xml_entities_are_refused_before_parsing(context: ValidationContext) -> None:
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa">]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>')
    with pytest.raises(ParseError, match="DOCTYPE") as caught:
        validate(bomb, "application/rdf+xml", context=context)
    assert caught.value.line == 2


# --- the bounded context: references to the knowledge graph -------------------------------------


def _referencing_record() -> str:
    return BASE_RECORD.read_text(encoding="utf-8").replace(
        "prov:wasAttributedTo agent:coprod-kg-editors",
        "prov:wasAttributedTo agent:test-curator-in-the-kg")


def test_reference_to_an_unknown_node_is_a_violation(context: ValidationContext) -> None:
    result = validate(_referencing_record(), "text/turtle", context=context)
    assert [str(f.source_shape).rsplit("/", 1)[-1] for f in result.violations] == \
        ["Case-curator-class"]


def test_lookup_resolves_only_referenced_nodes(context: ValidationContext) -> None:
    curator = URIRef("https://w3id.org/coprod/agent/test-curator-in-the-kg")
    kg = Graph()
    kg.add((curator, RDF.type, CP.Curator))
    kg.add((URIRef("https://w3id.org/coprod/case/other"), RDF.type, CP.CoProductionCase))
    asked: list[set[URIRef]] = []
    inner = graph_lookup(kg + Graph().parse(KG / "agents.ttl"))

    def lookup(nodes: set[URIRef]) -> Graph:
        asked.append(set(nodes))
        return inner(nodes)

    result = validate(_referencing_record(), "text/turtle",
                      context=context.with_lookup(lookup))
    assert result.conforms, render(result, "text")
    assert len(asked) == 1 and curator in asked[0]
    assert URIRef("https://w3id.org/coprod/case/other") not in asked[0]


def test_results_about_kg_nodes_are_not_reported(context: ValidationContext) -> None:
    """A cited KG source has a type but no properties in the context: its own shapes fail there,
    and those results must not be blamed on the submission."""
    source = URIRef("https://w3id.org/coprod/source/test-kg-source")
    kg = Graph()
    kg.add((source, RDF.type, URIRef("http://purl.org/ontology/bibo/Book")))
    kg.parse(KG / "agents.ttl")
    record = BASE_RECORD.read_text(encoding="utf-8").replace(
        "cito:citesAsEvidence src:pestoff-2015", "cito:citesAsEvidence src:test-kg-source")
    result = validate(record, "text/turtle", context=context.with_lookup(graph_lookup(kg)))
    assert result.conforms and not result.findings, render(result, "text")


# --- the facts beyond the typology need their evidence like any facet ---------------------------

FACTS_RECORD = DATA / "valid" / "case-with-facts.ttl"
SHAPES = "https://w3id.org/coprod/shapes/"
SPARQL_RULE = str(SH.SPARQLConstraintComponent)
CODING_3 = "<https://w3id.org/coprod/case/test-case-with-facts#coding-3>"


def _without(record: str, coding: str, line: str) -> str:
    """``record`` with one line of the block of ``coding`` removed (the line must be there)."""
    head, block = record.split(coding + "\n", 1)
    block, tail = block.split("\n\n", 1) if "\n\n" in block else (block, "")
    lines = block.splitlines()
    kept = [x for x in lines if not x.strip().startswith(line)]
    assert len(kept) == len(lines) - 1, f"{line} not in {coding}"
    if kept and kept[-1].endswith(" ;"):
        kept[-1] = kept[-1][:-2] + " ."
    return head + coding + "\n" + "\n".join(kept) + ("\n\n" + tail if tail else "\n")


@pytest.mark.parametrize(("line", "rule"), [
    ("cp:quote", "Coding-quote-required"),
    ("cp:locator", "Coding-locator-required"),
    ("cp:evidenceSource", "Coding-source-required"),
    ("cp:trajectory", "Coding-facet-required"),
])
def test_a_trajectory_coding_still_needs_its_evidence(line: str, rule: str,
                                                     context: ValidationContext) -> None:
    record = _without(FACTS_RECORD.read_text(encoding="utf-8"), CODING_3, line)
    result = validate(record, "text/turtle", context=context)
    broken = {(str(f.source_shape), str(f.component)) for f in result.violations}
    assert broken == {(SHAPES + rule, SPARQL_RULE)}, render(result, "text")


@pytest.mark.parametrize("facet", [
    'cp:participantCount "7"^^xsd:integer', 'cp:funding "a grant"@en',
    'cp:activity "they cook"@en', 'cp:measuredOutcome "fewer complaints, by survey"@en',
    "cp:trajectory cpc:failed"])
def test_each_new_facet_alone_makes_a_coding(facet: str, context: ValidationContext) -> None:
    record = FACTS_RECORD.read_text(encoding="utf-8").replace(
        "    cp:trajectory cpc:sustained ;", f"    {facet} ;")
    result = validate(record, "text/turtle", context=context)
    assert result.conforms and not result.findings, render(result, "text")


@pytest.mark.parametrize(("count", "rule"), [
    ('"-3"^^xsd:integer', "Coding-participants-non-negative"),
    ('"12.5"^^xsd:decimal', "Coding-participants-datatype"),
    ('"1 200"^^xsd:integer', "Coding-participants-datatype"),
    ('"1200"', "Coding-participants-datatype"),
    # a derived type: engines such as Oxigraph store it as xsd:integer, so the record would
    # not read back as written
    ('"1200"^^xsd:nonNegativeInteger', "Coding-participants-datatype"),
    ('"1200"@en', "Coding-participants-datatype")])
def test_a_number_of_participants_is_a_whole_number(count: str, rule: str,
                                                    context: ValidationContext) -> None:
    record = FACTS_RECORD.read_text(encoding="utf-8").replace(
        '"120"^^xsd:integer', count)
    result = validate(record, "text/turtle", context=context)
    broken = {str(f.source_shape) for f in result.violations}
    assert broken == {SHAPES + rule}, render(result, "text")


@pytest.mark.parametrize("document", ['"https://example.org/report.pdf"',
                                      '"https://example.org/report.pdf"@en',
                                      "<mailto:office@example.org>", "<ftp://example.org/a>",
                                      "<file:///etc/passwd>", "[ rdfs:label \"a report\"@en ]"])
def test_a_primary_document_is_a_web_address(document: str,
                                             context: ValidationContext) -> None:
    record = FACTS_RECORD.read_text(encoding="utf-8").replace(
        "<http://example.org/preschool/statutes>", document)
    result = validate(record, "text/turtle", context=context)
    broken = {str(f.source_shape) for f in result.violations}
    assert broken == {SHAPES + "Case-primary-document-iri"}, render(result, "text")


# --- reports --------------------------------------------------------------------------------------


def test_reports_in_every_format(context: ValidationContext) -> None:
    path = DATA / "invalid" / "Coding-rationale-required.ttl"
    result = validate(path.read_bytes(), "text/turtle", context=context, source_name=path.name)
    text = render(result, "text")
    assert "does NOT conform" in text and "gives no reason" in text
    assert re.search(rf"{path.name}:\d+", text)
    document = json.loads(render(result, "json"))
    assert document["conforms"] is False and document["errors"] == 1
    assert document["findings"][0]["rule"].endswith("Coding-rationale-required")
    for fmt, parser in (("turtle", "turtle"), ("jsonld", "json-ld")):
        with quiet_json_ld():
            report = Graph().parse(data=render(result, fmt), format=parser)
        (root,) = report.subjects(RDF.type, SH.ValidationReport)
        assert report.value(root, SH.conforms) == Literal(False)
        assert len(list(report.objects(root, SH.result))) == 1


def test_bundled_data_conforms(context: ValidationContext) -> None:
    settings = load_settings()
    files = sorted(settings.data_dir.rglob("*.ttl"))
    if not files:
        pytest.skip("data/ has no Turtle files yet")
    graph = Graph()
    for path in files:
        graph.parse(path)
    from coprod_kg.validation.shacl import validate_graph

    result = validate_graph(graph, context=context.with_lookup(no_lookup))
    assert result.conforms, render(result, "text")


def test_n3_variables_are_a_parse_error_with_a_position() -> None:
    """rdflib's Turtle parser crashes on ``?x``; the engine's parser refuses it with a position."""
    from coprod_kg.rdf.parsing import parse_rdf

    with pytest.raises(ParseError) as caught:
        parse_rdf(b"<http://example.org/a> <http://example.org/b> ?c .", "text/turtle")
    assert caught.value.line == 1 and caught.value.column == 47


def test_concurrent_validations_all_conform(context: ValidationContext) -> None:
    """The server validates in threads; rdflib's SPARQL parser must not be shared unguarded."""
    from concurrent.futures import ThreadPoolExecutor

    from coprod_kg.rdf import prepared_graph

    prepared_graph._prepared.cache_clear()  # the first parses are the ones that collide
    record = BASE_RECORD.read_bytes()

    def one(_: int) -> bool:
        return validate(record, "text/turtle", context=context).conforms

    with ThreadPoolExecutor(max_workers=16) as pool:
        verdicts = list(pool.map(one, range(32)))
    assert all(verdicts)
    assert one(0), "a validation after the concurrent ones must still work"
