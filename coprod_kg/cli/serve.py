"""``coprod-kg serve``: serve SPARQL and linked data over HTTP with uvicorn."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from coprod_kg.config import SETTINGS, Settings
from coprod_kg.manifest import read_manifest
from coprod_kg.store import StoreNotReady


def register(sub: Any) -> None:
    """Add the ``serve`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="serve the SPARQL endpoint and the linked-data pages",
        description="Start the HTTP server (run `coprod-kg load` first).")
    parser.add_argument("--host", help="interface to listen on (default: COPROD_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: COPROD_PORT)")
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="store directory (default: COPROD_STORE)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run uvicorn until interrupted.

    The app comes from the factory ``api.app:create_app_from_env`` (this package never imports
    the web framework), so the command-line overrides travel as ``COPROD_*`` variables.
    """
    import uvicorn  # the server stack is only needed by this verb

    settings = settings.with_overrides(host=args.host, port=args.port, store=args.store)
    if read_manifest(settings.store) is None:
        raise StoreNotReady(f"the store {settings.store} is not loaded; run `coprod-kg load`")
    for option in SETTINGS:
        if option.name in ("host", "port", "store"):
            os.environ[option.env] = str(getattr(settings, option.name))
    uvicorn.run("api.app:create_app_from_env", factory=True, host=settings.host,
                port=settings.port)
    return 0
