"""The wheel runs anywhere: built, installed into a new virtual environment, used from a folder
outside the checkout, it loads, serves and answers with the cases it ships with.

The new environment sees the test interpreter's site-packages as a plain path (a ``.pth``
line), so the dependencies come without a network, while coprod_kg itself comes only from the
wheel: a path line does not run the editable install's import hook, ``PYTHONPATH`` is dropped,
and the commands run from a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import site
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from coprod_kg.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

CASES = sorted((PROJECT_ROOT / "data" / "cases").glob("*.ttl"))


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


#: What the build reads (a copy, so that no stale ``build/lib`` of the checkout gets in).
BUILD_INPUTS = ("setup.py", "pyproject.toml", "README.md", "coprod_kg", "api", "ontology",
                "shapes", "data", "docs/context.jsonld", "tests/competency")


def _source_copy(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in BUILD_INPUTS:
        origin, copy = PROJECT_ROOT / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, copy, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(origin, copy)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new virtual environment with the wheel installed, and the environment to run it in."""
    root = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("COPROD_")}
    env["HOME"] = str(root / "home")
    source = _source_copy(root / "source")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--wheel-dir", str(root / "dist"), str(source)], root, env)
    wheel = next((root / "dist").glob("coprod_kg-*.whl"))
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, env)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(_run([str(python), "-c", where], root, env).stdout.strip())
    (purelib / "test_dependencies.pth").write_text(
        "".join(p + "\n" for p in site.getsitepackages()), encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
          "--no-index", str(wheel)], root, env)
    return wheel, env | {"VIRTUAL_ENV": str(venv),
                         "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


def test_the_wheel_holds_no_top_level_api_and_no_checkout_paths(
        installed: tuple[Path, dict[str, str]]) -> None:
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert all(t == "coprod_kg" or t.endswith(".dist-info") for t in tops), tops
    for must in ("coprod_kg/web/app.py", "coprod_kg/web/templates/base.html",
                 "coprod_kg/web/static/yasgui/yasgui.min.js", "coprod_kg/bundle/context.jsonld",
                 "coprod_kg/bundle/ontology/coprod.ttl", "coprod_kg/bundle/shapes/case.ttl",
                 "coprod_kg/cli/__init__.py", "coprod_kg/curation/__init__.py",
                 "coprod_kg/publishing/templates/ontology.html.j2"):
        assert must in names, must
    assert sum(n.startswith("coprod_kg/bundle/data/cases/") for n in names) == len(CASES)
    assert any(n.startswith("coprod_kg/bundle/competency/") and n.endswith(".rq") for n in names)


def test_installed_coprod_kg_loads_serves_and_answers(
        installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    _, env = installed
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    store = tmp_path / "store"
    assert "serve" in _run(["coprod-kg", "--help"], outside, env).stdout
    where = _run(["python", "-c", "import coprod_kg, importlib.util; print(coprod_kg.__file__); "
                  "print(importlib.util.find_spec('api'))"], outside, env).stdout.split("\n")
    assert "site-packages" in where[0] and where[1] == "None", where
    _run(["coprod-kg", "load", "--store", str(store)], outside, env)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["coprod-kg", "serve", "--store", str(store), "--port", str(port)], cwd=outside,
            env=env | {"COPROD_QUERY_WORKERS": "1", "COPROD_SITE_WORKERS": "1",
                       "COPROD_PUBLIC_URL": url},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(600):
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        answer = httpx.get(url + "/sparql", params={"query": (
            "PREFIX cp: <https://w3id.org/coprod/ontology/> "
            "SELECT (COUNT(DISTINCT ?case) AS ?n) WHERE { ?case a cp:CoProductionCase }")},
            headers={"Accept": "application/sparql-results+json"}, timeout=60)
        assert answer.status_code == 200, answer.text
        count = int(answer.json()["results"]["bindings"][0]["n"]["value"])
        assert count == len(CASES)
        query_page = httpx.get(url + "/query", timeout=60)
        assert query_page.status_code == 200 and "yasgui" in query_page.text.lower()
        assert httpx.get(url + "/context.jsonld", timeout=60).status_code == 200
        ontology = httpx.get(url + "/ontology", headers={"Accept": "text/html"}, timeout=300)
        assert ontology.status_code == 200 and "<html" in ontology.text.lower()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
