"""The Argo Rollouts image's ``/bin/rollouts-controller``: the bundled engine with only its
Rollout loop, in-cluster, with leader election on as Argo's ``--leader-elect`` default
(argoproj/argo-rollouts cmd/rollouts-controller/main.go). /healthz and /metrics on 8080.
"""

from __future__ import annotations

import sys

from canary.controller.main import main as engine


def main(argv: list[str]) -> int:
    return engine(["--mode", "argo", "--leader-elect", "--port", "8080", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
