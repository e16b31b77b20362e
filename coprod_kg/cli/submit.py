"""``coprod-kg submit FILE``: submit a new case record, or a new version of an existing one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from coprod_kg.cli._curation import acting_user, add_identity_options, open_service, settings_of
from coprod_kg.config import Settings
from coprod_kg.errors import BadInput, OutsideCase
from coprod_kg.rdf.parsing import media_type_for
from coprod_kg.validation.report import render_text
from coprod_kg.validation.shacl import ValidationFailed


def register(sub: Any) -> None:
    """Add the ``submit`` verb."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "submit", help="submit a case record for review (validated first)",
        description="Validate FILE and store it as a pending version of its case (a new case, "
        "or with --update a new version of an existing one). Nothing is stored if it does "
        "not conform. Curators may --publish directly.")
    parser.add_argument("file", type=Path, metavar="FILE", help="the case record (any RDF syntax)")
    parser.add_argument("--update", action="store_true",
                        help="the case exists: add a new version of it")
    parser.add_argument("--publish", action="store_true",
                        help="publish at once (curators only)")
    add_identity_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Submit; print the case and version; 1 if the record does not conform or reaches
    beyond its case."""
    settings = settings_of(args, settings)
    if not args.file.is_file():
        raise BadInput(f"no such file: {args.file}")
    data, media_type = args.file.read_bytes(), media_type_for(args.file)
    user = acting_user(args, settings)
    service = open_service(settings)
    try:
        if args.update:
            from coprod_kg.curation.prepare import prepare
            case = prepare(data, media_type, str(args.file), None).case
            outcome = service.put(case, data, media_type, user, service.etag(case),
                                  publish=args.publish, source_name=str(args.file))
        else:
            outcome = service.submit(data, media_type, user, str(args.file), args.publish)
    except ValidationFailed as failed:
        print(render_text(failed.result), file=sys.stderr)
        print(f"coprod-kg submit: {failed}", file=sys.stderr)
        return 1
    except OutsideCase as refused:
        print(f"coprod-kg submit: {refused}", file=sys.stderr)
        return 1
    finally:
        service.close()
    info = outcome.version
    print(f"{info.case} version {info.number}: {info.status.value} (ETag {outcome.etag})")
    return 0
