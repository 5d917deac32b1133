"""The ``linkerd`` shim for command lines the features run: ``linkerd viz ... stat ...`` as the
seed writes it, answered by ``canary stat``. It sits in a private bin dir appended at the END of
PATH, so a real ``linkerd`` found earlier on PATH (kind, existing clusters) always wins."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from canary.harness.argo import write_shim

EXECUTABLE = "linkerd"


def install_linkerd_shim(bin_dir: Path, python: str = sys.executable) -> Path:
    return write_shim(bin_dir, EXECUTABLE, "canary.cli.linkerd_shim", python)


def path_appended(bin_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with ``bin_dir`` LAST on PATH: a fallback, never shadowing what is installed."""
    out = dict(env)
    parts = [p for p in out.get("PATH", "").split(os.pathsep) if p and p != str(bin_dir)]
    out["PATH"] = os.pathsep.join([*parts, str(bin_dir)])
    return out
