"""``python -m canary.sandbox.mesh --dir DIR``: run the sandbox's Linkerd-shaped mesh.

Reads DIR/kubeconfig and DIR/config.json (``time_scale``), serves Linkerd-format metrics on
127.0.0.1:<free port> (written to config.json as ``mesh_metrics_port``) and proxies every
Service ClusterIP:port until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable

from canary.kube.client import ApiUnavailable, KubeClient
from canary.sandbox.layout import SandboxLayout
from canary.sandbox.mesh.metrics import MeshMetrics, expire_deleted_pods
from canary.sandbox.mesh.metrics_server import MetricsServer
from canary.sandbox.mesh.proxy import Listeners, Mesh
from canary.sandbox.mesh.route_status import RouteStatusWriter
from canary.sandbox.mesh.state import MeshState
from canary.sandbox.mesh.watch import start_watchers

log = logging.getLogger("canary.mesh")


def _connector(layout: SandboxLayout, kubeconfig: str | None, timeout: float
               ) -> Callable[[], KubeClient]:
    """A function making a client from the kubeconfig; waits for the file to appear once."""
    path = kubeconfig or str(layout.kubeconfig)
    deadline = time.monotonic() + timeout
    while True:
        try:
            KubeClient.from_kubeconfig(path)
            break
        except ApiUnavailable as e:
            if time.monotonic() > deadline:
                raise SystemExit(f"mesh: {e} (is the API server running?)") from None
            time.sleep(0.2)
    return lambda: KubeClient.from_kubeconfig(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m canary.sandbox.mesh",
                                 description="Linkerd-shaped mesh for the canary sandbox")
    ap.add_argument("--dir", default=None, help="sandbox directory (default .sandbox or "
                    "$CANARY_SANDBOX_DIR)")
    ap.add_argument("--kubeconfig", default=None, help="default DIR/kubeconfig")
    ap.add_argument("--metrics-port", type=int, default=0, help="default: a free port")
    ap.add_argument("--no-route-status", action="store_true",
                    help="do not write HTTPRoute status.parents (Linkerd's policy controller does)")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s mesh: %(message)s")
    layout = SandboxLayout.at(args.dir)
    connect = _connector(layout, args.kubeconfig, timeout=60.0)
    time_scale = layout.time_scale

    stop = threading.Event()
    state = MeshState()
    metrics = MeshMetrics()
    mesh = Mesh(state, metrics, time_scale=time_scale)
    listeners = Listeners(mesh)
    dirty = threading.Event()
    # A few scrapes (10s x time_scale each) so a deleted pod's last increments are seen.
    retain_s = max(1.0, 30.0 * time_scale)

    def on_change(kind: str, event_type: str, obj: dict) -> None:
        if kind == "Service":
            dirty.set()

    state.on_change(on_change)
    expire_deleted_pods(state, metrics, retain_s)
    server = MetricsServer(("127.0.0.1", args.metrics_port), metrics, state, listeners)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    layout.update_config(mesh_metrics_port=server.server_address[1])
    log.info("metrics on http://127.0.0.1:%d/metrics", server.server_address[1])

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        dirty.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not args.no_route_status:
        RouteStatusWriter(connect, state, stop).start()
    start_watchers(connect, state, stop)
    while not stop.is_set():
        dirty.wait(1.0)  # periodic too: retries listeners that could not bind
        dirty.clear()
        if not stop.is_set():
            listeners.sync()
    listeners.close()
    server.shutdown()
    mesh.pool.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
