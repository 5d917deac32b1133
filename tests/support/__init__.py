"""Shared helpers of the repository's tests: one API-server launcher (:mod:`support.apiserver`),
one poll helper (:mod:`support.poll`), the fake HTTP peers (:mod:`support.local_http`), and the
worlds and stacks the engine, mesh and controller tests build on. ``tests/conftest.py`` puts
``tests/`` on ``sys.path`` so every topic folder imports them as ``support.*``."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "fixtures" / "manifests"
CRDS = MANIFESTS / "crds"


def manifest_object(file: str, kind: str) -> dict:
    """The first object of ``kind`` in a packaged manifest (read, never retyped)."""
    import yaml

    docs = yaml.safe_load_all((MANIFESTS / file).read_text())
    return next(d for d in docs if d and d.get("kind") == kind)
