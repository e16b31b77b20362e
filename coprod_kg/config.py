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

from coprod_kg import bundle
from coprod_kg.errors import BadInput
from coprod_kg.fairness.clients import FORWARDED_HEADERS, parse_networks

#: The folder holding this package: the checkout when run from one (then it has
#: ``pyproject.toml``), ``site-packages`` when installed. Nothing at run time reads from it;
#: ontology, shapes, cases and examples come from :mod:`coprod_kg.bundle`.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()


def _user_dir(variable: str, fallback: str) -> Path:
    """An XDG base folder (``XDG_DATA_HOME``, ``XDG_CACHE_HOME``) for coprod-kg's own files."""
    return Path(os.environ.get(variable) or Path.home() / fallback) / "coprod-kg"


#: Where the store lives by default: ``var/`` of a checkout, else the user's data folder.
VAR_DIR = PROJECT_ROOT / "var" if IN_CHECKOUT else _user_dir("XDG_DATA_HOME", ".local/share")
#: Where generated files (the ontology's HTML and serialisations) go: ``build/`` of a checkout,
#: else the user's cache folder.
BUILD_DIR = PROJECT_ROOT / "build" if IN_CHECKOUT else _user_dir("XDG_CACHE_HOME", ".cache")


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
        "store", str(VAR_DIR / "store"),
        "Directory of the embedded Oxigraph store.",
    ),
    Setting(
        "ontology_dir", str(bundle.path("ontology").resolve()),
        "Directory of the ontology Turtle files.",
    ),
    Setting("shapes_dir", str(bundle.path("shapes").resolve()), "Directory of the SHACL shapes."),
    Setting(
        "data_dir", str(bundle.path("data").resolve()), "Directory of the curated case records.",
    ),
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
        "remote_state_ttl", "1",
        "Remote back end: seconds a server process reuses the published state it read (the "
        "manifest and the curation records), so that a query costs one request; its own writes "
        "are seen at once, other processes' after at most this long. 0: read it per query.",
    ),
    Setting(
        "remote_union_graphs", "64",
        "Remote back end: from this many public graphs on, a query without a dataset reads one "
        "union graph of the published state, made on the server at the state's first query, "
        "instead of listing every public graph (which some servers, Virtuoso among them, plan "
        "badly). 0: always list them.",
    ),
    Setting(
        "max_response_bytes", "268435456",
        "Largest serialised answer of one query, in bytes (both back ends).",
    ),
    Setting(
        "site_workers", "1",
        "Worker processes (remote back end: concurrent requests) for the site's own reads "
        "(pages, linked data, dumps, VoID), apart from those of `/sparql`.",
    ),
    Setting(
        "query_memory_mb", "1024",
        "Memory (private writable, MB) one query worker may use; a query that needs more is "
        "stopped (503) and the worker replaced. 0: no limit.",
    ),
    Setting(
        "allow_unsandboxed_queries", "0",
        "`1` lets the server start when its query workers cannot be cut off from the network "
        "(no seccomp, no network namespace); otherwise it refuses to start.",
    ),
    Setting(
        "inline_light_queries", "1",
        "`1`: a light lookup (one triple pattern, e.g. `SELECT ?p ?o WHERE { <iri> ?p ?o }` or "
        "`DESCRIBE <iri>`) is answered in the server process, under small caps on its answer, "
        "instead of in a query worker; a larger answer goes to a worker. `0`: every query runs "
        "in a worker.",
    ),
    Setting(
        "writer_socket", "",
        "Set by `coprod-kg serve --workers N` (embedded back end) in its reader processes: the "
        "Unix socket of the one writer process, to which they forward what needs the store's "
        "writer (the curation API, a withdrawn case's page). Empty: this process is the writer.",
    ),
    Setting(
        "reader_token", "",
        "Set by `coprod-kg serve --workers N` (embedded back end): the secret with which its "
        "reader processes vouch, to the writer process, for the client address of a forwarded "
        "request. Empty: no address is taken from a request's headers on this ground.",
    ),
    Setting(
        "access_log", "1",
        "`1`: log every request (uvicorn's access log, on standard error). `0`: no access log "
        "(when a proxy in front logs requests already; the line costs about 0.1 ms of the API "
        "process per request).",
    ),
    Setting(
        "spool_max_bytes", "1073741824",
        "Largest total of answers waiting on disk to be sent; past it `/sparql` answers 503.",
    ),
    Setting(
        "answer_cache_bytes", "67108864",
        "Bytes of serialised answers (`/sparql`, linked data, pages, VoID) kept in memory for "
        "the published state they were computed from; repeats are answered without the engine. "
        "An answer above an eighth of it is not kept. 0: no in-process cache (entity tags and "
        "`304` still work).",
    ),
    Setting(
        "send_timeout", "30",
        "Seconds a client may take to accept each chunk of an answer before it is cut off.",
    ),
    Setting(
        "client_query_seconds", "60",
        "Seconds of query time each client may use per `COPROD_CLIENT_WINDOW` on `/sparql` "
        "(0: no budget); past it, 429 with `Retry-After`.",
    ),
    Setting(
        "client_window", "60",
        "The window of `COPROD_CLIENT_QUERY_SECONDS`, in seconds (the budget refills "
        "continuously over it).",
    ),
    Setting(
        "client_concurrency", "5",
        "Queries one client may run at once on `/sparql` (0: no cap); past it, 429.",
    ),
    Setting(
        "trusted_proxies", "",
        "Comma-separated addresses or CIDR blocks of reverse proxies whose forwarded-for "
        "header names the client (empty: trust nobody; the client is the socket peer).",
    ),
    Setting(
        "forwarded_header", "x-forwarded-for",
        "The header trusted proxies write: `x-forwarded-for` or `forwarded` (RFC 7239).",
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
    remote_state_ttl: float = 1.0
    remote_union_graphs: int = 64
    max_response_bytes: int = 268435456
    site_workers: int = 1
    query_memory_mb: int = 1024
    allow_unsandboxed_queries: bool = False
    inline_light_queries: bool = True
    writer_socket: str = ""
    reader_token: str = ""
    access_log: bool = True
    spool_max_bytes: int = 1073741824
    send_timeout: float = 30.0
    answer_cache_bytes: int = 67108864
    client_query_seconds: float = 60.0
    client_window: float = 60.0
    client_concurrency: int = 5
    trusted_proxies: str = ""
    forwarded_header: str = "x-forwarded-for"
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
        elif kind == "bool":
            values[name] = text.strip().lower() in ("1", "true", "yes", "on")
        else:
            values[name] = text
    if values["backend"] not in BACKENDS:
        raise BadInput(f"COPROD_BACKEND must be one of {', '.join(BACKENDS)}, "
                       f"not {values['backend']!r}")
    _check_fairness(values)
    return Settings(**values)


def _check_fairness(values: Mapping[str, Any]) -> None:
    """Refuse fairness settings that cannot work, at start-up rather than on a request."""
    if values["client_window"] <= 0:
        raise BadInput("COPROD_CLIENT_WINDOW must be a positive number of seconds")
    if values["client_query_seconds"] < 0 or values["client_concurrency"] < 0:
        raise BadInput("COPROD_CLIENT_QUERY_SECONDS and COPROD_CLIENT_CONCURRENCY must be 0 "
                       "(off) or positive")
    header = values["forwarded_header"].strip().lower()
    if header not in FORWARDED_HEADERS:
        raise BadInput(f"COPROD_FORWARDED_HEADER must be one of {', '.join(FORWARDED_HEADERS)}, "
                       f"not {values['forwarded_header']!r}")
    parse_networks(values["trusted_proxies"])
