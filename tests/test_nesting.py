"""Deep nesting in every input syntax is a 400 with the reason, never a 500 (or a crash).

One corpus, many spellings per syntax, read three ways: :func:`parse_rdf`, ``POST /validate``
and ``coprod-kg validate``. Each document nests past :data:`MAX_NESTING` (most of them past
Python's recursion limit too); the message must name the limit, which only the checks of
:mod:`coprod_kg.rdf.nesting` give (without them rdflib ends in ``RecursionError``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from http_helpers import client_for

from coprod_kg.cli import main
from coprod_kg.config import Settings
from coprod_kg.errors import BadInput
from coprod_kg.rdf import nesting
from coprod_kg.rdf.nesting import MAX_NESTING
from coprod_kg.rdf.parsing import SUFFIXES, parse_rdf

DEEP = 1000  # past Python's recursion limit
JUST = MAX_NESTING + 1
TTL = "text/turtle"
NT = "application/n-triples"
JSONLD = "application/ld+json"
XML = "application/rdf+xml"
P = "@prefix ex: <http://example.org/> .\n"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_HEAD = f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://example.org/">'
#: Words the refusal must contain (the limit, or the kind of loop).
REASONS = (f"more than {MAX_NESTING} levels", "in a cycle")


def _turtle() -> dict[str, str]:
    return {
        "ttl-bnode-object": P + "ex:a ex:p " + "[ ex:p " * DEEP + "ex:b" + " ]" * DEEP + " .\n",
        "ttl-bnode-subject": P + "[ ex:p " * DEEP + "ex:b" + " ]" * DEEP + " ex:q ex:c .\n",
        "ttl-bnode-no-space": P + "ex:a ex:p " + "[ex:p" * DEEP + " 1" + "]" * DEEP + ".\n",
        "ttl-bnode-just-past": P + "ex:a ex:p " + "[ ex:p " * JUST + "1" + " ]" * JUST + " .\n",
        "ttl-list": P + "ex:a ex:p " + "( " * DEEP + "ex:b" + " )" * DEEP + " .\n",
        "ttl-list-subject": P + "( " * DEEP + ")" * DEEP + " ex:p ex:o .\n",
        "ttl-list-just-past": P + "ex:a ex:p " + "(" * JUST + ")" * JUST + " .\n",
        "ttl-mixed": P + "ex:a ex:p " + "( [ ex:p " * (DEEP // 2) + "1" + " ] )" * (DEEP // 2)
        + " .\n",
        "ttl-comments-between": P + "ex:a ex:p " + "[ # ]) no closing here\n ex:p " * DEEP
        + "1" + " ]" * DEEP + " .\n",
        "ttl-strings-between": P + "ex:a ex:p " + '[ ex:q "]" ; ex:r """)]""" ; ex:p ' * DEEP
        + "1" + " ]" * DEEP + " .\n",
        "ttl-iris-between": P + "ex:a ex:p " + "[ ex:q <http://e.org/]> ; ex:p " * DEEP
        + "1" + " ]" * DEEP + " .\n",
        "ttl-escaped-names": P + "ex:a ex:p " + r"[ ex:q ex:x\) ; ex:p " * DEEP + "1"
        + " ]" * DEEP + " .\n",
        "ttl-crlf": P + "ex:a ex:p " + "[\r\nex:p\r\n" * DEEP + "1" + "\r\n]" * DEEP + " .\r\n",
        "ttl-flat-bnode-chain": P + "ex:a ex:p _:b0 .\n"
        + "".join(f"_:b{i} ex:p _:b{i + 1} .\n" for i in range(DEEP)),
        "ttl-flat-chain-just-past": P + "ex:a ex:p _:b0 .\n"
        + "".join(f"_:b{i} ex:p _:b{i + 1} .\n" for i in range(JUST)),
        "ttl-list-of-bnodes-chain": P + "ex:a ex:p " + "( [ ex:p " * (DEEP // 4) + "1"
        + " ] )" * (DEEP // 4) + " .\n",
    }


def _ntriples() -> dict[str, str]:
    return {
        "nt-flat-bnode-chain": "".join(f"_:b{i} <http://example.org/p> _:b{i + 1} .\n"
                                       for i in range(DEEP)),
        "nt-flat-chain-reversed": "".join(f"_:b{i + 1} <http://example.org/p> _:b{i} .\n"
                                          for i in reversed(range(DEEP))),
        "nt-first-chain": "".join(f"_:b{i} <{RDF_NS}first> _:b{i + 1} .\n" for i in range(DEEP)),
    }


def _json_ld() -> dict[str, str]:
    obj = '{"@id": "http://example.org/a", ' + '"http://example.org/p": {' * DEEP \
        + '"@id": "http://example.org/b"' + "}" * DEEP + "}"
    arrays = '{"@id": "http://example.org/a", "http://example.org/p": ' + "[" * DEEP + '"x"' \
        + "]" * DEEP + "}"
    lists = '{"@id": "http://example.org/a", "http://example.org/p": ' + '{"@list": [' * DEEP \
        + '"x"' + "]}" * DEEP + "}"
    graphs = '{"@graph": ' * DEEP + '{"@id": "http://example.org/a"}' + "}" * DEEP
    reverse = '{"@id": "http://example.org/a", "@reverse": ' + '{"http://example.org/p": {' \
        * (DEEP // 2) + '"@id": "http://example.org/b"' + "}}" * (DEEP // 2) + "}"
    pretty = obj.replace(": {", ":\n  {\n    ").replace("}", "\n}")
    scoped: dict[str, object] = {"@vocab": "http://example.org/"}
    for _ in range(DEEP // 3):
        scoped = {"p": {"@id": "http://example.org/p", "@context": scoped}}
    chain = {f"t{i}": f"t{i + 1}:x" for i in range(DEEP)} | {f"t{DEEP}": "http://example.org/"}
    id_chain = {f"t{i}": {"@id": f"t{i + 1}"} for i in range(DEEP)} | {
        f"t{DEEP}": "http://example.org/z"}
    chain_40 = {f"t{i}": f"t{i + 1}:x" for i in range(40)} | {"t40": "http://example.org/"}
    flat_chain = {"@graph": [{"@id": f"_:b{i}", "http://example.org/p": {"@id": f"_:b{i + 1}"}}
                             for i in range(DEEP)]}

    def doc(context: object, prop: str = "t0") -> str:
        return json.dumps({"@context": context, "@id": "http://example.org/a", prop: "v"})

    return {
        "jsonld-objects": obj, "jsonld-arrays": arrays, "jsonld-lists": lists,
        "jsonld-graphs": graphs, "jsonld-reverse": reverse, "jsonld-pretty": pretty,
        "jsonld-strings-between": obj.replace('{"@id"', '{"x": "}}]]", "@id"'),
        "jsonld-deep-context": '{"@context": ' + '{"a": ' * DEEP + '"http://example.org/"'
        + "}" * DEEP + ', "@id": "http://example.org/a"}',
        "jsonld-scoped-contexts": json.dumps({"@context": scoped, "@id": "http://example.org/a",
                                              "p": "v"}),
        "jsonld-prefix-chain": doc(chain),
        "jsonld-prefix-chain-just-past": doc(chain_40),
        "jsonld-id-chain": doc(id_chain),
        "jsonld-self-prefix": doc({"t0": "t0:x"}),
        "jsonld-cycle": doc({"t0": "t1:x", "t1": "t0:y"}),
        "jsonld-id-cycle": doc({"t0": {"@id": "t1"}, "t1": {"@id": "t0"}}),
        "jsonld-reverse-cycle": doc({"t0": {"@reverse": "t1:x"}, "t1": {"@id": "t0:y"}}),
        "jsonld-cycle-across-contexts": json.dumps({
            "@context": [{"t0": "t1:x"}, {"t1": "t0:y"}], "@id": "http://example.org/a",
            "t0": "v"}),
        "jsonld-cycle-in-nested-context": json.dumps({
            "@context": {"t0": "http://example.org/"}, "@id": "http://example.org/a",
            "http://example.org/p": {"@context": {"t0": "t1:x", "t1": "t0:y"}, "t0": "v"}}),
        "jsonld-flat-bnode-chain": json.dumps(flat_chain),
    }


def _rdf_xml() -> dict[str, str]:
    described = (XML_HEAD + '<rdf:Description rdf:about="http://example.org/a">'
                 + "<ex:p><rdf:Description>" * DEEP + "</rdf:Description></ex:p>" * DEEP
                 + "</rdf:Description></rdf:RDF>")
    resource = (XML_HEAD + '<rdf:Description rdf:about="http://example.org/a">'
                + '<ex:p rdf:parseType="Resource">' * DEEP + "</ex:p>" * DEEP
                + "</rdf:Description></rdf:RDF>")
    collection = (XML_HEAD + '<rdf:Description rdf:about="http://example.org/a">'
                  + '<ex:p rdf:parseType="Collection"><rdf:Description>' * DEEP
                  + "</rdf:Description></ex:p>" * DEEP + "</rdf:Description></rdf:RDF>")
    typed = (XML_HEAD + '<ex:Thing rdf:about="http://example.org/a">'
             + "<ex:p><ex:Thing>" * DEEP + "</ex:Thing></ex:p>" * DEEP + "</ex:Thing></rdf:RDF>")
    just = (XML_HEAD + '<rdf:Description rdf:about="http://example.org/a">'
            + "<ex:p><rdf:Description>" * (JUST // 2) + "</rdf:Description></ex:p>" * (JUST // 2)
            + "</rdf:Description></rdf:RDF>")
    node_ids = (XML_HEAD + "".join(f'<rdf:Description rdf:nodeID="b{i}"><ex:p '
                                   f'rdf:nodeID="b{i + 1}"/></rdf:Description>'
                                   for i in range(DEEP)) + "</rdf:RDF>")
    return {"xml-descriptions": described, "xml-parse-type-resource": resource,
            "xml-parse-type-collection": collection, "xml-typed-nodes": typed,
            "xml-just-past": just, "xml-flat-node-ids": node_ids,
            "xml-whitespace": described.replace("><", ">\n  <")}


def _corpus() -> list[tuple[str, str, str]]:
    out = [(name, TTL, text) for name, text in _turtle().items()]
    out += [(name, NT, text) for name, text in _ntriples().items()]
    out += [(name, JSONLD, text) for name, text in _json_ld().items()]
    out += [(name, XML, text) for name, text in _rdf_xml().items()]
    return out


CORPUS = _corpus()
IDS = [name for name, _, _ in CORPUS]
SUFFIX = {TTL: ".ttl", NT: ".nt", JSONLD: ".jsonld", XML: ".rdf"}


def test_the_corpus_covers_every_syntax() -> None:
    assert {media for _, media, _ in CORPUS} == {TTL, NT, JSONLD, XML}
    assert all(SUFFIXES[suffix] == media for media, suffix in SUFFIX.items())
    assert len(CORPUS) >= 40


@pytest.mark.parametrize(("name", "media", "text"), CORPUS, ids=IDS)
def test_parse_refuses_with_the_limit(name: str, media: str, text: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse_rdf(text.encode("utf-8"), media, name)
    assert any(reason in str(refused.value) for reason in REASONS), refused.value


@pytest.mark.parametrize("depth", [1, 4, MAX_NESTING // 2, MAX_NESTING - 2])
def test_nesting_up_to_the_limit_is_read(depth: int) -> None:
    """The checks are not broader than the limit (each document is one level deeper below)."""
    documents = [
        (TTL, P + "ex:a ex:p " + "[ ex:p " * depth + "1" + " ]" * depth + " .\n"),
        (TTL, P + "ex:a ex:p " + "( " * depth + "1" + " )" * depth + " .\n"),
        (TTL, P + "ex:a ex:p _:b0 .\n" + "".join(f"_:b{i} ex:p _:b{i + 1} .\n"
                                                for i in range(depth))),
        (JSONLD, '{"@id": "http://example.org/a", ' + '"http://example.org/p": {' * depth
         + '"@id": "http://example.org/b"' + "}" * depth + "}"),
        (JSONLD, json.dumps({"@context": {f"t{i}": f"t{i + 1}:x" for i in range(depth)}
                             | {f"t{depth}": "http://example.org/"},
                             "@id": "http://example.org/a", "t0": "v"})),
        (XML, XML_HEAD + '<rdf:Description rdf:about="http://example.org/a">'
         + "<ex:p><rdf:Description>" * _xml_levels(depth)
         + "</rdf:Description></ex:p>" * _xml_levels(depth) + "</rdf:Description></rdf:RDF>"),
    ]
    for media, text in documents:
        assert len(parse_rdf(text.encode("utf-8"), media)) >= 1


def _xml_levels(depth: int) -> int:
    """Nested nodes within ``depth`` XML elements (two per level, under rdf:RDF and the root)."""
    return max(1, (depth - 2) // 2)


def test_a_long_list_is_not_nesting() -> None:
    text = P + "ex:a ex:p (" + " ".join(f"ex:i{i}" for i in range(3000)) + ") .\n"
    assert len(parse_rdf(text.encode("utf-8"), TTL)) == 6001


@pytest.mark.parametrize(("name", "media", "text"),
                         [c for c in CORPUS if "just-past" not in c[0]],
                         ids=[n for n in IDS if "just-past" not in n])
def test_without_the_checks_the_parse_boundary_still_answers_400(
        name: str, media: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second line: RecursionError inside a parser becomes a 400, not a 500."""
    for check in ("check_turtle", "check_json", "check_xml", "check_json_ld_contexts",
                  "check_blank_nodes"):
        monkeypatch.setattr(nesting, check, lambda *args: None)
    try:
        graph = parse_rdf(text.encode("utf-8"), media, name)
    except BadInput:
        return
    # a document the parser reads iteratively: it is still refused before serialisation
    assert len(graph) > 0
    monkeypatch.undo()
    with pytest.raises(BadInput):
        nesting.check_blank_nodes(graph)


def test_rdf_xml_entities_are_refused_in_any_encoding() -> None:
    laughs = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaa">'
              '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
              f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://example.org/">'
              '<rdf:Description rdf:about="http://example.org/a"><ex:p>&b;</ex:p>'
              "</rdf:Description></rdf:RDF>")
    for encoded in (laughs.encode("utf-16"), laughs.encode("utf-16-be"),
                    laughs.replace("UTF-16", "UTF-8").encode("utf-8")):
        with pytest.raises(BadInput) as refused:
            parse_rdf(encoded, XML)
        assert "DOCTYPE" in str(refused.value)


# --- over HTTP and the command line ------------------------------------------------------------


@pytest.fixture(scope="module")
def client(real_store: Path, settings_for: object) -> Iterator[TestClient]:
    settings: Settings = settings_for(real_store)  # type: ignore[operator]
    with client_for(settings) as test_client:
        yield test_client


@pytest.mark.parametrize(("name", "media", "text"), CORPUS, ids=IDS)
def test_post_validate_answers_400_with_the_reason(client: TestClient, name: str, media: str,
                                                   text: str) -> None:
    response = client.post("/validate", content=text.encode("utf-8"),
                           headers={"Content-Type": media})
    assert response.status_code == 400, response.text[:300]
    message = response.json()["message"]
    assert any(reason in message for reason in REASONS), message


def test_the_validation_page_shows_the_reason(client: TestClient) -> None:
    text = _turtle()["ttl-bnode-object"]
    response = client.post("/validate", data={"text": text, "format": TTL},
                           headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert f"more than {MAX_NESTING} levels" in response.text


@pytest.mark.parametrize(("name", "media", "text"), CORPUS, ids=IDS)
def test_cli_validate_exits_2_with_the_reason(
        name: str, media: str, text: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPROD_DATA_DIR", str(tmp_path / "no-kg"))
    path = tmp_path / f"{name}{SUFFIX[media]}"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert any(reason in err for reason in REASONS), err
    assert "Traceback" not in err
