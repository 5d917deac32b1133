"""The Flagger image's ``./flagger``: the bundled engine with only its Flagger loop, in-cluster.

Flagger's own flags are accepted in Go's spelling (``-mesh-provider=linkerd``,
``-metrics-server=URL``, ``-enable-leader-election``, ``-port``; the logging ones are ignored).
``-port`` defaults to 8080 as Flagger's (fluxcd/flagger cmd/flagger/main.go:101), where the
Deployment's probes ask for /healthz. Configuration comes from the pod's service account.
"""

from __future__ import annotations

import sys

from canary.controller.main import main as engine


def main(argv: list[str]) -> int:
    return engine(["--mode", "flagger", "--port", "8080", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
