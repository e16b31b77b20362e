"""Settings, read once from ``COPROD_*`` environment variables into a frozen object.

Every setting is declared in :data:`SETTINGS`; ``tests/test_docs.py`` checks that each one is
documented in the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from coprod_kg.errors import BadInput

#: The project checkout (the folder holding ``ontology/``, ``shapes/`` and ``data/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One configurable value: its environment variable, default and meaning."""

    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return "COPROD_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "store", str(PROJECT_ROOT / "var" / "store"),
        "Directory of the embedded Oxigraph store.",
    ),
    Setting(
        "ontology_dir", str(PROJECT_ROOT / "ontology"),
        "Directory of the ontology Turtle files.",
    ),
    Setting("shapes_dir", str(PROJECT_ROOT / "shapes"), "Directory of the SHACL shapes."),
    Setting("data_dir", str(PROJECT_ROOT / "data"), "Directory of the curated case records."),
    Setting("host", "127.0.0.1", "Interface the server listens on."),
    Setting("port", "8000", "Port the server listens on."),
    Setting(
        "public_url", "http://127.0.0.1:8000",
        "Public address of the server (used in the service description, VoID and links).",
    ),
    Setting(
        "base_iri", "https://w3id.org/coprod/",
        "Base of the IRIs the server dereferences; mapped to the server's own address.",
    ),
    Setting("query_timeout", "30", "Seconds a SPARQL query may run before it is stopped."),
    Setting(
        "max_results", "100000",
        "Largest number of triples a CONSTRUCT or DESCRIBE query may return.",
    ),
    Setting(
        "max_request_bytes", "1048576",
        "Largest request body (query or submission) accepted, in bytes.",
    ),
    Setting(
        "query_workers", "2",
        "Worker processes that run SPARQL queries (each can be stopped at the timeout).",
    ),
    Setting(
        "backend", "embedded",
        "Where the graph lives: `embedded` (pyoxigraph directory `COPROD_STORE`) or `remote` "
        "(a SPARQL 1.1 server).",
    ),
    Setting(
        "sparql_url", "",
        "Remote back end: the server's SPARQL query endpoint, e.g. "
        "`http://127.0.0.1:7878/query`.",
    ),
    Setting(
        "sparql_update_url", "",
        "Remote back end: its SPARQL update endpoint (default: the query URL with `/query` "
        "replaced by `/update`, Oxigraph server's layout).",
    ),
    Setting(
        "gsp_url", "",
        "Remote back end: its Graph Store HTTP Protocol endpoint (default: the query URL with "
        "`/query` replaced by `/store`).",
    ),
    Setting(
        "max_response_bytes", "268435456",
        "Largest serialised answer of one query, in bytes (both back ends).",
    ),
    Setting(
        "max_records", "200",
        "Largest number of records (distinct IRI subjects) one uploaded document may describe "
        "(validation and submissions).",
    ),
    Setting(
        "max_triples", "5000",
        "Largest number of triples one uploaded document may hold (validation and "
        "submissions).",
    ),
    Setting(
        "validation_timeout", "30",
        "Seconds the validation of one upload may run before its worker process is stopped.",
    ),
    Setting(
        "validation_memory", "512",
        "Memory (address space) of each validation worker process, in MiB.",
    ),
    Setting(
        "validation_workers", "2",
        "Uploads validated at once, each in its own low-priority worker process; more wait "
        "briefly, then get 503.",
    ),
)

BACKENDS = ("embedded", "remote")


@dataclass(frozen=True)
class Settings:
    """The resolved settings; build one with :func:`load_settings`."""

    store: Path
    ontology_dir: Path
    shapes_dir: Path
    data_dir: Path
    host: str
    port: int
    public_url: str
    base_iri: str
    query_timeout: float
    max_results: int
    max_request_bytes: int
    query_workers: int
    backend: str = "embedded"
    sparql_url: str = ""
    sparql_update_url: str = ""
    gsp_url: str = ""
    max_response_bytes: int = 268435456
    max_records: int = 200
    max_triples: int = 5000
    validation_timeout: float = 30.0
    validation_memory: int = 512
    validation_workers: int = 2

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some values replaced (used by the CLI options and tests)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``environ`` (default: the process environment).

    >>> load_settings({"COPROD_PORT": "9000"}).port
    9000
    """
    env = os.environ if environ is None else environ
    raw = {s.name: env.get(s.env, s.default) for s in SETTINGS}
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    for name, text in raw.items():
        kind = types[name]
        if kind == "Path":
            values[name] = Path(text)
        elif kind == "int":
            values[name] = int(text)
        elif kind == "float":
            values[name] = float(text)
        else:
            values[name] = text
    if values["backend"] not in BACKENDS:
        raise BadInput(f"COPROD_BACKEND must be one of {', '.join(BACKENDS)}, "
                       f"not {values['backend']!r}")
    return Settings(**values)
