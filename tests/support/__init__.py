"""Shared helpers of the repository's tests: one API-server launcher (:mod:`support.apiserver`),
one poll helper (:mod:`support.poll`), the fake HTTP peers (:mod:`support.local_http`), and the
worlds and stacks the engine, mesh and controller tests build on. ``tests/conftest.py`` puts
``tests/`` on ``sys.path`` so every topic folder imports them as ``support.*``."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "fixtures" / "manifests"
CRDS = MANIFESTS / "crds"
