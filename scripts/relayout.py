"""Move the modules of ``coprod_kg/`` into their subpackages and rewrite every import.

Run once by the change that introduced the layout (``python scripts/relayout.py --move``).
Afterwards, ``python scripts/relayout.py`` (without ``--move``) only rewrites imports: run it
after merging a branch written against the old layout, then fix what ruff and mypy report.
The rewrite is idempotent (it only touches the old, exact module names).
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Old module (under coprod_kg) -> new module (``api.`` prefix: moved into the web front end).
MOVES: dict[str, str] = {
    # rdf: terms, formats, parsing, sources
    "namespaces": "rdf.namespaces", "terms": "rdf.terms", "formats": "rdf.formats",
    "conneg": "rdf.conneg", "rdf_input": "rdf.parsing", "sources": "rdf.sources",
    "source_lines": "rdf.source_lines", "prepared_graph": "rdf.prepared_graph",
    "rdflib_lock": "rdf.rdflib_lock", "nesting": "rdf.nesting",
    # sparql: what a query may do, and the barriers it runs behind
    "query_safety": "sparql.safety", "sandbox": "sparql.sandbox", "spool": "sparql.spool",
    "service_description": "sparql.service_description",
    # storage: protocols, manifest, the embedded and the remote back end
    "store": "storage.store", "rows": "storage.rows", "manifest": "storage.manifest",
    "manifest_store": "storage.manifest_store", "backend": "storage.backend",
    "oxigraph_store": "storage.embedded.oxigraph_store",
    "public_view": "storage.embedded.public_view",
    "query_worker": "storage.embedded.query_worker",
    "curation.writer": "storage.embedded.writer",
    "storage.embedded.curation_writer": "storage.embedded.writer",
    "remote_http": "storage.remote.http", "remote_lanes": "storage.remote.lanes",
    "remote_load": "storage.remote.load", "remote_store": "storage.remote.store",
    "remote_writer": "storage.remote.writer", "staged_update": "storage.staged_update",
    # reasoning
    "reasoning": "reasoning.hermit", "entailment": "reasoning.entailment",
    "defined_classes": "reasoning.defined_classes",
    # validation
    "validation": "validation.shacl", "findings": "validation.findings",
    "report": "validation.report", "validation_worker": "validation.worker",
    # quality
    "checks": "quality.checks", "competency": "quality.competency",
    # publishing
    "dump": "publishing.dump", "void": "publishing.void", "docs": "publishing.docs",
    "docs_model": "publishing.docs_model", "published_ontology": "publishing.published_ontology",
    "countries": "publishing.countries",
    # curation: who may write, and the log of writes
    "accounts": "curation.accounts", "audit": "curation.audit",
    # web-only view models: into api/views
    "catalogue": "api.views.catalogue", "resource_view": "api.views.resource_view",
    "figure": "api.views.figure", "linked_data": "api.views.linked_data",
    "case_index": "api.views.case_index", "case_study": "api.views.case_study",
    "charts": "api.views.charts", "citation": "api.views.citation",
    "concept_page": "api.views.concept_page", "explorer": "api.views.explorer",
    "facets": "api.views.facets", "source_page": "api.views.source_page",
    "i18n": "api.views.i18n",
}
#: Modules of api/ that move within api/.
API_MOVES: dict[str, str] = {"report_view": "views.report_view",
                             "resource_pages": "routers.resource_pages"}

#: Renamed classes and protocols (old name -> new name), as whole words.
RENAMES: dict[str, str] = {
    "OxigraphCurationWriter": "OxigraphWriter", "CurationReader": "GraphReader",
    "CurationWriter": "GraphWriter", "RuleEngine": "GraphWriter",
}
#: Where each moved name is defined now; an import of it from another coprod_kg module is moved.
NAME_HOMES: dict[str, str] = {
    "GraphReader": "coprod_kg.storage.store", "GraphWriter": "coprod_kg.storage.store",
    "OxigraphWriter": "coprod_kg.storage.embedded.writer",
    "OxigraphReader": "coprod_kg.storage.embedded.writer",
    "BUSY_MESSAGE": "coprod_kg.storage.embedded.writer",
    "ManifestStore": "coprod_kg.storage.manifest",
    "manifest_to_json": "coprod_kg.storage.manifest",
    "manifest_from_json": "coprod_kg.storage.manifest",
    "FileManifestStore": "coprod_kg.storage.embedded.manifests",
    "RemoteManifestStore": "coprod_kg.storage.remote.manifests",
    "MANIFEST_GRAPH": "coprod_kg.storage.remote.manifests",
    "conditional_manifest_update": "coprod_kg.storage.remote.manifests",
    "ValidationFailed": "coprod_kg.validation.shacl",
}

PACKAGES = {
    "rdf": "RDF: IRIs and prefixes, terms, formats and content negotiation, parsing input.",
    "sparql": "SPARQL: what a query may do, and the barriers a query runs behind.",
    "storage": "Storage: the store protocols, the load manifest, the embedded and remote "
               "back ends.",
    "storage.embedded": "The embedded back end: pyoxigraph stores on local disk and the query "
                        "workers that read their snapshot.",
    "storage.remote": "The remote back end: any SPARQL 1.1 server over HTTP.",
    "reasoning": "Reasoning: HermiT checks, and the entailments materialised at load time.",
    "validation": "Validation of case records against the SHACL shapes, and its reports.",
    "quality": "Quality of the ontology and the graph: hygiene rules and competency questions.",
    "publishing": "Publishing: dumps, the VoID description, the ontology's documentation.",
}
API_PACKAGES = {"views": "View models of the web pages: plain data from the store, no HTTP here."}


def new_name(old: str) -> str:
    """The full new module name of ``coprod_kg.<old>``."""
    target = MOVES[old]
    return target if target.startswith("api.") else "coprod_kg." + target


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _relative(importer: str, target: str, is_package: bool) -> str:
    """``target`` (an ``api.`` module) as a relative import from module ``importer``."""
    here = importer.split(".") if is_package else importer.split(".")[:-1]
    there = target.split(".")
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    return "." * (len(here) - common + 1) + ".".join(there[common:])


def rewrite(text: str, importer: str, is_package: bool) -> str:
    """Rewrite the imports of the old module names in one file's ``text``."""
    in_api = importer.split(".")[0] == "api"
    olds = sorted(MOVES, key=len, reverse=True)
    alternation = "|".join(re.escape(o) for o in olds)

    def target(old: str) -> str:
        full = new_name(old)
        if in_api and full.startswith("api."):
            return _relative(importer, full, is_package)
        return full

    # from coprod_kg.<old> import ...
    def from_module(match: re.Match[str]) -> str:
        return f"{match.group(1)}from {target(match.group(2))} import"

    text = re.sub(rf"^(\s*)from coprod_kg\.({alternation}) import", from_module, text,
                  flags=re.M)

    # from coprod_kg import a, b  /  from coprod_kg.curation import writer
    def from_package(match: re.Match[str]) -> str:
        indent, package, names = match.group(1), match.group(2), match.group(3)
        prefix = package.removeprefix("coprod_kg").lstrip(".")
        kept, lines = [], []
        for item in [n.strip() for n in names.strip("()").split(",") if n.strip()]:
            name = item.split(" as ")[0].strip()
            old = f"{prefix}.{name}" if prefix else name
            if old in MOVES:
                full = target(old)
                parent, _, leaf = full.rpartition(".")
                alias = item.split(" as ")[1].strip() if " as " in item else None
                parent = parent or "."
                if full.startswith(".") and not parent.strip("."):
                    parent = full[: len(full) - len(full.lstrip("."))]
                local = alias or name.rpartition(".")[2]
                tail = f" as {local}" if local != leaf else ""
                lines.append(f"{indent}from {parent} import {leaf}{tail}")
            else:
                kept.append(item)
        if kept:
            lines.insert(0, f"{indent}from {package} import {', '.join(kept)}")
        return "\n".join(lines)

    text = re.sub(r"^(\s*)from (coprod_kg(?:\.curation)?) import (\([^)]*\)|[^\n]*)$",
                  from_package, text, flags=re.M)
    # dotted references in strings and code: coprod_kg.<old>.attr / "coprod_kg.<old>"
    def dotted(match: re.Match[str]) -> str:
        old, child = match.group(1), match.group(2)
        if child and any(v == f"{old}.{child}" or v.startswith(f"{old}.{child}.")
                         for v in MOVES.values()):
            return match.group(0)  # already the new name (validation -> validation.shacl)
        return new_name(old) + (f".{child}" if child else "")

    text = re.sub(rf"\bcoprod_kg\.({alternation})(?![\w])(?:\.(\w+))?(?!\.py)", dotted, text)
    text = re.sub(rf"\bcoprod_kg/({'|'.join(re.escape(o.replace('.', '/')) for o in olds)})\.py",
                  lambda m: new_name(m.group(1).replace("/", ".")).replace(".", "/") + ".py",
                  text)
    for old_name, new in RENAMES.items():
        text = re.sub(rf"\b{old_name}\b", new, text)

    def relocate(match: re.Match[str]) -> str:
        indent, module, names = match.group(1), match.group(2), match.group(3)
        items = [n.strip() for n in names.strip("()").split(",") if n.strip()]
        staying, moving = [], {}
        for item in items:
            home = NAME_HOMES.get(item.split(" as ")[0].strip())
            if home is not None and home != module and importer != home:
                moving.setdefault(home, []).append(item)
            else:
                staying.append(item)
        if not moving:
            return match.group(0)
        lines = [f"{indent}from {module} import {', '.join(staying)}"] if staying else []
        lines += [f"{indent}from {home} import {', '.join(sorted(set(found)))}"
                  for home, found in moving.items()]
        return "\n".join(lines)

    text = re.sub(r"^(\s*)from (coprod_kg[\w.]*) import (\([^)]*\)|[^\n]*)$", relocate, text,
                  flags=re.M)
    if importer.startswith("api."):
        # absolute imports of the front end's own modules become relative (it is installed as
        # coprod_kg.web)
        def api_absolute(match: re.Match[str]) -> str:
            moved = match.group(2)
            old = moved.removeprefix("api.")
            target = "api." + API_MOVES.get(old, old)
            return f"{match.group(1)}from {_relative(importer, target, is_package)} import"

        text = re.sub(r"^(\s*)from (api(?:\.[\w.]+)?) import", api_absolute, text, flags=re.M)
    if importer.startswith("api"):
        base = importer.split(".") if is_package else importer.split(".")[:-1]

        def api_relative(match: re.Match[str]) -> str:
            dots, name = match.group(2), match.group(3)
            absolute = ".".join([*base[: len(base) - len(dots) + 1], name])
            old = absolute.removeprefix("api.")
            if old not in API_MOVES:
                return match.group(0)
            moved = _relative(importer, "api." + API_MOVES[old], is_package)
            return f"{match.group(1)}from {moved} import"

        text = re.sub(r"^(\s*)from (\.+)([\w.]+) import", api_relative, text, flags=re.M)
    text = re.sub(rf"\bapi\.({'|'.join(API_MOVES)})\b", lambda m: "api." + API_MOVES[m.group(1)],
                  text)
    return text


def move() -> None:
    """``git mv`` every module to its new place and create the new packages."""
    def ensure_package(folder: Path, doc: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{doc}"""\n', encoding="utf-8")
            subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)

    for package, doc in PACKAGES.items():
        ensure_package(ROOT / "coprod_kg" / package.replace(".", "/"), doc)
    for package, doc in API_PACKAGES.items():
        ensure_package(ROOT / "api" / package, doc)
    for old in MOVES:
        source = ROOT / "coprod_kg" / (old.replace(".", "/") + ".py")
        full = new_name(old)
        dest = ROOT / (full.replace(".", "/") + ".py")
        if source.exists():
            subprocess.run(["git", "mv", str(source), str(dest)], cwd=ROOT, check=True)
    for old, new in API_MOVES.items():
        source = ROOT / "api" / f"{old}.py"
        if source.exists():
            dest = ROOT / "api" / (new.replace(".", "/") + ".py")
            subprocess.run(["git", "mv", str(source), str(dest)], cwd=ROOT, check=True)


def main() -> None:
    """Move (with ``--move``) and rewrite the imports of every Python and Markdown file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--move", action="store_true", help="git mv the modules first")
    args = parser.parse_args()
    if args.move:
        move()
    files = [p for folder in ("coprod_kg", "api", "tests", "bench", "scripts")
             for p in (ROOT / folder).rglob("*.py") if p.name != "relayout.py"]
    files += [p for p in (ROOT / "docs").glob("*.md")] + [ROOT / "README.md",
                                                         ROOT / "bench" / "README.md"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        importer = _module_of(path) if path.suffix == ".py" else "docs"
        new = rewrite(text, importer, path.name == "__init__.py")
        if new != text:
            path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
