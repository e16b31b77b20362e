"""Which folders the wheel holds, and under which package names (metadata is in pyproject.toml).

The sources of truth stay where a reader of the checkout looks for them; the build maps them
into the one ``coprod_kg`` package:

- ``coprod_kg/`` and every subpackage, found by :func:`setuptools.find_packages`;
- ``api/`` becomes ``coprod_kg.web`` (no top-level module named ``api`` is installed; ``api``
  uses relative imports only, so it runs under either name);
- ``coprod_kg/bundle/`` links to ``ontology/``, ``shapes/``, ``data/``, ``docs/context.jsonld``
  and ``tests/competency/``; the build copies what the links point at.
"""

from setuptools import find_packages, setup

CORE = find_packages(include=["coprod_kg", "coprod_kg.*"])
WEB = ["coprod_kg.web", *(f"coprod_kg.web.{name}" for name in find_packages("api"))]

setup(
    packages=CORE + WEB,
    package_dir={"coprod_kg.web": "api"},
    package_data={
        "coprod_kg": ["py.typed"],
        "coprod_kg.publishing": ["templates/*"],
        "coprod_kg.bundle": [
            "ontology/*.ttl", "ontology/*.md", "ontology/checks/*.rq", "shapes/*.ttl",
            "data/*.md", "data/**/*.ttl", "context.jsonld", "competency/*.rq",
        ],
        # static/ includes the npm-fetched YASGUI and Swagger UI (`make install` fetches them).
        "coprod_kg.web": ["templates/*", "static/**/*"],
    },
    include_package_data=False,
)
