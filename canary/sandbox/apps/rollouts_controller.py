"""The Argo Rollouts image's ``/bin/rollouts-controller``: the bundled engine with only its
Rollout loop, in-cluster, with leader election on as Argo's ``--leader-elect`` default
(argoproj/argo-rollouts cmd/rollouts-controller/main.go). /healthz on 8080 and /metrics on 8090,
Argo's defaults (controller/controller.go:67-70), which the install's Deployment declares as its
``healthz`` and ``metrics`` ports; ``--healthzPort``/``--metricsPort`` move them.
"""

from __future__ import annotations

import sys

from canary.controller.main import main as engine

# Argo's flag spelling -> the engine's (cmd/rollouts-controller/main.go:322-325)
FLAGS = {"--healthzPort": "--port", "--metricsPort": "--metrics-port",
         "--metricsport": "--metrics-port", "--loglevel": "--log-level"}


def translate(argv: list[str]) -> list[str]:
    out = []
    for a in argv:
        name, eq, value = a.partition("=")
        out.append(FLAGS[name] + eq + value if name in FLAGS else a)
    return out


def main(argv: list[str]) -> int:
    return engine(["--mode", "argo", "--leader-elect", "--port", "8080", "--metrics-port", "8090",
                   *translate(argv)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
