"""``coprod-kg serve``: serve SPARQL and linked data over HTTP with uvicorn."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from typing import Any

from coprod_kg.config import SETTINGS, Settings, load_settings
from coprod_kg.errors import BadInput
from coprod_kg.runtime import open_backend, prestart_store
from coprod_kg.storage.backend import is_remote
from coprod_kg.storage.store import StoreNotReady


def register(sub: Any) -> None:
    """Add the ``serve`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="serve the SPARQL endpoint and the linked-data pages",
        description="Start the HTTP server (run `coprod-kg load` first).")
    parser.add_argument("--host", help="interface to listen on (default: COPROD_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: COPROD_PORT)")
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="server processes (default 1). On the embedded store: one "
                        "writer process and N-1 readers, which forward curation to it")
    parser.set_defaults(func=run)


def app_factory() -> str:
    """The import path of the web app's factory: ``api`` beside this package in a checkout run
    from its root, ``coprod_kg.web`` (the same folder, mapped there by the build) when installed.
    """
    beside = Path(__file__).resolve().parents[2] / "api" / "app.py"
    found = importlib.util.find_spec("api") if beside.is_file() else None
    origin = found.origin if found is not None else None
    if origin is not None and Path(origin).resolve().parent == beside.parent:
        return "api.app:create_app_from_env"
    return "coprod_kg.web.app:create_app_from_env"


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run uvicorn until interrupted.

    The app comes from the factory named by :func:`app_factory` (this package never imports
    the web front end), so the command-line overrides travel as ``COPROD_*`` variables.
    """
    import uvicorn  # the server stack is only needed by this verb

    settings = settings.with_overrides(host=args.host, port=args.port, store=args.store)
    if args.workers < 1:
        raise BadInput("--workers must be at least 1")
    with open_backend(settings) as backend:  # released before the server opens its own
        loaded = backend.loaded()
    if not loaded:
        where = settings.sparql_url if is_remote(settings) else settings.store
        raise StoreNotReady(f"the store {where} is not loaded; run `coprod-kg load`")
    for option in SETTINGS:  # the workers rebuild the settings from the environment
        os.environ[option.env] = str(getattr(settings, option.name))
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For from any loopback peer;
    # COPROD_TRUSTED_PROXIES is the one place that decides whom to believe (api/budget.py)
    options: dict[str, Any] = dict(factory=True, host=settings.host, port=settings.port,
                                   proxy_headers=False, access_log=settings.access_log)
    if args.workers > 1 and not is_remote(settings):  # one writer process, N-1 readers
        from coprod_kg.cli.serve_processes import serve_group
        return serve_group(uvicorn.Config(app_factory(), **options), args.workers)
    if args.workers == 1:  # the query workers start while uvicorn imports the app
        prestart_store(load_settings())
    uvicorn.run(app_factory(), workers=args.workers, **options)
    return 0
