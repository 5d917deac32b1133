"""Manifests shipped with the harness, so an installed plugin can deploy the demo anywhere.

They are the repository's ``fixtures/manifests``, installed as package data of
``canary.fixtures``.
"""

from __future__ import annotations

from pathlib import Path

import canary.fixtures

MANIFEST_DIR = Path(canary.fixtures.__file__).resolve().parent / "manifests"
DEMO_URL = "https://run.linkerd.io/flagger.yml"


def packaged(name: str) -> Path:
    path = MANIFEST_DIR / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in MANIFEST_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no packaged manifest {name!r} (have: {known})")
    return path


def demo_manifest() -> Path:
    return packaged("podinfo-demo.yaml")


def local_url_map() -> dict[str, Path]:
    """Well-known tutorial URLs served from local copies where the network is not reachable."""
    return {DEMO_URL: demo_manifest()}


def resolve_manifest(name: str, search: list[Path]) -> Path:
    """A manifest named in a feature: absolute, relative to one of ``search``, or packaged."""
    p = Path(name)
    if p.is_absolute():
        if p.is_file():
            return p
        raise FileNotFoundError(f"manifest {name} does not exist")
    for base in search:
        if (base / p).is_file():
            return (base / p).resolve()
    if (MANIFEST_DIR / p.name).is_file():
        return MANIFEST_DIR / p.name
    raise FileNotFoundError(f"manifest {name!r} not found relative to "
                            f"{', '.join(str(s) for s in search)} nor among the packaged manifests")
