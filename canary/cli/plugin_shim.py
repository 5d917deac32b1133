"""``canary kubectl-plugin DIR``: the ``kubectl-argo-rollouts`` shim, written where the user says.

The package installs no ``kubectl-argo-rollouts`` of its own, so it never shadows a real Argo
Rollouts plugin on PATH; the harness writes the shim into a private folder when no real plugin is
found, and users who want the tutorial's lines by hand put this folder on PATH themselves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from canary.harness.argo import install_kubectl_plugin


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="canary kubectl-plugin", description=__doc__.splitlines()[0])
    p.add_argument("dir", type=Path, help="folder to write kubectl-argo-rollouts into")
    args = p.parse_args(argv)
    exe = install_kubectl_plugin(args.dir.resolve())
    print(f"wrote {exe}\nappend it to PATH (a real kubectl-argo-rollouts earlier on PATH wins):"
          f"\n  export PATH=$PATH:{exe.parent}")
    return 0
