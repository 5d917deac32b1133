"""Manifests shipped with the harness, so an installed plugin can deploy the demo anywhere.

They are the repository's ``fixtures/manifests``, installed as package data of
``canary.fixtures``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import canary.fixtures

MANIFEST_DIR = Path(canary.fixtures.__file__).resolve().parent / "manifests"
DEMO_URL = "https://run.linkerd.io/flagger.yml"
INSTALL_DIR = MANIFEST_DIR / "install"
ARGO_INSTALL_URL = ("https://github.com/argoproj/argo-rollouts/releases/latest/download/"
                    "install.yaml")
# kubectl -k targets as the tutorial writes them (a remote kustomization: the repository's
# kustomize/linkerd folder, optionally spelled with // and ?ref=)
FLAGGER_KUSTOMIZE_RE = re.compile(
    r"(?:-k|--kustomize)(?:=|\s+)(?:https://)?github\.com/fluxcd/flagger/{1,2}kustomize/linkerd"
    r"/?(?:\?ref=\S*)?(?=\s|$|;|&|\|)")


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


def flagger_install_files(deleting: bool = False) -> list[Path]:
    """What Flagger's Linkerd kustomization applies: its namespace, CRDs, then the rest; for
    ``kubectl delete`` the namespace goes last (the sandbox removes a namespace's objects at
    once, so deleting them after it would answer NotFound)."""
    crds = MANIFEST_DIR / "crds"
    ns = INSTALL_DIR / "flagger-namespace.yaml"
    rest = [crds / "flagger.app_canaries.yaml", crds / "flagger.app_metrictemplates.yaml",
            INSTALL_DIR / "flagger-linkerd.yaml"]
    return [*rest, ns] if deleting else [ns, *rest]


def argo_install_files() -> list[Path]:
    """What Argo Rollouts' install.yaml holds: its five CRDs (four are the harness's own; the
    Experiment CRD only the install applies), then the rest."""
    crds = MANIFEST_DIR / "crds"
    return [*(crds / f"argoproj.io_{n}.yaml" for n in
              ("rollouts", "analysistemplates", "clusteranalysistemplates", "analysisruns")),
            INSTALL_DIR / "argoproj.io_experiments.yaml",
            INSTALL_DIR / "argo-rollouts-install.yaml"]


def _files_flags(files: list[Path]) -> str:
    return " ".join(f"-f {shlex.quote(str(f))}" for f in files)


def rewrite_install_commands(command: str) -> str:
    """The tutorial's install and cleanup lines, served from the packaged equivalents:
    ``kubectl apply|delete -k github.com/fluxcd/flagger/kustomize/linkerd`` and
    ``kubectl apply -f <Argo's install.yaml URL>`` (the packaged files are what those
    targets hold; kubectl applies and deletes them as it would the remote ones)."""
    def flagger(m: re.Match[str]) -> str:
        segment = re.split(r"&&|\|\||;|\|", m.string[:m.start()])[-1]
        return _files_flags(flagger_install_files(deleting=" delete " in f" {segment} "))

    command = FLAGGER_KUSTOMIZE_RE.sub(flagger, command)
    argo = argo_install_files()
    command = re.sub(r"(?:-f|--filename)(?:=|\s+)" + re.escape(ARGO_INSTALL_URL) +
                     r"(?=\s|$|;|&|\|)", lambda _m: _files_flags(argo), command)
    return command


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
