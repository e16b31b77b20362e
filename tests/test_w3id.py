"""The redirect rules of ``https://w3id.org/coprod/`` (``w3id/coprod/.htaccess``, in the format
of the perma-id/w3id.org repository) send every kind of IRI to a route this server answers,
in the format the client asked for.

The rules are read as Apache's mod_rewrite would apply them (conditions on the Accept header,
``[OR]``, ``[L]``, ``QSA``), with the placeholder host replaced by the test app's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.views.linked_data import DEREFERENCEABLE
from coprod_kg.config import PROJECT_ROOT
from coprod_kg.rdf.namespaces import BASE
from coprod_kg.storage.rows import select

HTACCESS = PROJECT_ROOT / "w3id" / "coprod" / ".htaccess"
PLACEHOLDER = "https://coprod-kg.example.org"


@dataclass
class Rule:
    """One RewriteRule with the RewriteCond lines before it."""

    conditions: list[tuple[str, str, bool]] = field(default_factory=list)  # (var, regex, OR)
    pattern: str = ""
    target: str = ""
    flags: set[str] = field(default_factory=set)


def parse(text: str) -> list[Rule]:
    """The rules of an .htaccess, in order."""
    rules, pending = [], Rule()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "RewriteCond":
            flags = words[3].strip("[]").split(",") if len(words) > 3 else []
            pending.conditions.append((words[1], words[2], "OR" in flags))
        elif words[0] == "RewriteRule":
            pending.pattern, pending.target = words[1], words[2]
            pending.flags = set(words[3].strip("[]").split(",")) if len(words) > 3 else set()
            rules.append(pending)
            pending = Rule()
    return rules


def _holds(rule: Rule, accept: str) -> bool:
    """mod_rewrite's reading: conditions are ANDed, except that [OR] joins a condition with the
    next one."""
    result, carried = True, False  # carried: an earlier condition of this [OR] group held
    for variable, regex, is_or in rule.conditions:
        assert variable == "%{HTTP_ACCEPT}", variable
        matched = carried or re.search(regex, accept) is not None
        if is_or:
            carried = matched
            continue
        carried = False
        result = result and matched
    return result


def redirect(rules: list[Rule], path: str, query: str, accept: str) -> tuple[str, int, int]:
    """Where ``https://w3id.org/coprod/{path}?{query}`` goes for ``accept``: the target, the
    status and the index of the rule that applied."""
    for index, rule in enumerate(rules):
        match = re.match(rule.pattern, path)
        if match is None or not _holds(rule, accept):
            continue
        target = re.sub(r"\$(\d)", lambda m, found=match: found.group(int(m.group(1))),
                        rule.target)
        # mod_rewrite keeps the query string unless the target has one; QSA appends it then
        if query and ("?" not in target or "QSA" in rule.flags):
            target += ("&" if "?" in target else "?") + query
        status = next((int(f[2:]) for f in rule.flags if f.startswith("R=")), 302)
        return target, status, index
    raise AssertionError(f"no rule for {path!r} with Accept {accept!r}")


RULES = parse(HTACCESS.read_text(encoding="utf-8"))

#: Accept header -> the media type the answer must have.
ACCEPTS = {
    "text/turtle": "text/turtle",
    "application/ld+json": "application/ld+json",
    "application/rdf+xml": "application/rdf+xml",
    "application/n-triples": "application/n-triples",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": "text/html",
    "*/*": "text/html",
}


def test_the_rules_are_those_of_a_w3id_folder() -> None:
    text = HTACCESS.read_text(encoding="utf-8")
    assert "RewriteEngine on" in text
    assert (HTACCESS.parent / "README.md").is_file()
    assert all(r.target.startswith(PLACEHOLDER + "/") for r in RULES)
    assert all("R=303" in r.flags and "L" in r.flags for r in RULES)
    assert not RULES[-1].conditions  # a default for every other client


@pytest.fixture(scope="module")
def samples(real_client: TestClient) -> list[str]:
    """One IRI of every dereferenceable kind the bundled data has, plus the namespace's own."""
    store = real_client.app.state.store  # type: ignore[attr-defined]
    found = []
    for kind in DEREFERENCEABLE:
        rows = select(store, f"""SELECT ?s WHERE {{ ?s ?p ?o
            FILTER(STRSTARTS(STR(?s), "{BASE}{kind}/")) FILTER(!CONTAINS(STR(?s), "#")) }}
            LIMIT 1""")
        found += [row["s"].value for row in rows]
    assert len(found) >= 8, found
    return [*found, BASE + "ontology"]


def test_every_rule_sends_every_kind_to_a_route_that_answers(
        real_client: TestClient, samples: list[str]) -> None:
    public = str(real_client.base_url).rstrip("/")
    rules = [Rule(r.conditions, r.pattern, r.target.replace(PLACEHOLDER, public), r.flags)
             for r in RULES]
    used = set()
    for iri in samples:
        path = iri[len(BASE):]
        for accept, expected in ACCEPTS.items():
            target, status, index = redirect(rules, path, "", accept)
            assert status == 303
            used.add(index)
            parts = urlsplit(target)
            assert f"{parts.scheme}://{parts.netloc}" == public
            answer = real_client.get(parts.path + (f"?{parts.query}" if parts.query else ""),
                                     headers={"Accept": accept}, follow_redirects=True)
            assert answer.status_code == 200, (iri, accept, target, answer.text[:300])
            assert answer.headers["content-type"].split(";")[0] == expected, (iri, accept)
    assert used == set(range(len(rules))), "a rule no sample reached"


def test_the_context_and_the_namespace_itself_resolve(real_client: TestClient) -> None:
    public = str(real_client.base_url).rstrip("/")
    rules = [Rule(r.conditions, r.pattern, r.target.replace(PLACEHOLDER, public), r.flags)
             for r in RULES]
    for path in ("", "context.jsonld"):
        target, _, _ = redirect(rules, path, "", "*/*")
        answer = real_client.get(urlsplit(target).path or "/")
        assert answer.status_code == 200, (path, target)


def test_a_query_string_is_kept() -> None:
    target, _, _ = redirect(RULES, "case/x", "lang=pl", "text/turtle")
    assert target.endswith("/case/x?format=turtle&lang=pl")
    target, _, _ = redirect(RULES, "case/x", "lang=pl", "text/html")
    assert target.endswith("/case/x?lang=pl")
