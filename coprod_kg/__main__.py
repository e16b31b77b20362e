"""Allow ``python -m coprod_kg``."""

from coprod_kg.cli import main

raise SystemExit(main())
