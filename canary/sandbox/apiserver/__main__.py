"""``python -m canary.sandbox.apiserver --dir DIR --port PORT --token TOKEN``."""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import subprocess
import sys
import threading

from ...sandbox.layout import SandboxLayout
from . import errors, tls
from .api import Api
from .gc import Collector
from .resources import NAMESPACE_KEY, Registry
from .server import ApiHTTPServer
from .services import ServiceAddresses
from .store import Store, StoreBusy

log = logging.getLogger("apiserver")

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Where the sandbox publishes its time scale for clients (the engine reads it; docs/time-scale.md).
SCALE_CONFIGMAP = ("kube-system", "canary-sandbox")


def build(layout: SandboxLayout, history: int = 10000) -> tuple[Api, Collector]:
    store = Store(layout.store, history)
    services = ServiceAddresses(layout.dns_file)
    services.load(store.list("/services"))
    api = Api(Registry(), store, services)
    ns_type = api.registry.lookup("", "v1", "namespaces")
    assert ns_type is not None
    for name in INITIAL_NAMESPACES:
        if store.get(NAMESPACE_KEY, "", name) is None:
            try:
                api.create(ns_type, "", {"metadata": {"name": name}})
            except errors.ApiException:
                pass
    store.start_window()
    scale = layout.read_config().get("time_scale")
    if scale is not None:  # declared by `canary sandbox up`; a bare API server declares none
        publish_time_scale(api, float(scale))
    return api, Collector(api)


def publish_time_scale(api: Api, scale: float) -> None:
    """Create or refresh ConfigMap kube-system/canary-sandbox ``data.timeScale`` at every start."""
    cm_type = api.registry.lookup("", "v1", "configmaps")
    assert cm_type is not None
    ns, name = SCALE_CONFIGMAP
    data = {"timeScale": f"{scale:g}"}
    try:
        cur = api.get(cm_type, ns, name)
    except errors.ApiException:
        api.create(cm_type, ns, {"metadata": {"name": name, "namespace": ns,
                                              "labels": {"app.kubernetes.io/part-of":
                                                         "canary-sandbox"}},
                                 "data": data})
        return
    if cur.get("data") != data:
        api.update(cm_type, ns, name, dict(cur, data=data))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m canary.sandbox.apiserver",
                                description="Sandbox Kubernetes API server")
    p.add_argument("--dir", default=None, help="sandbox directory (default .sandbox)")
    p.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--token", required=True, help="bearer token clients must send")
    p.add_argument("--watch-history", type=int, default=10000,
                   help="events kept for watch resume; older versions get 410 Expired")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.host.startswith("127."):
        p.error("--host must be a loopback address (127.0.0.0/8)")
    layout = SandboxLayout.at(args.dir)
    try:
        api, collector = build(layout, max(1, args.watch_history))
    except StoreBusy as e:
        log.error("%s", e)
        return 1
    ssl_context = None
    try:
        cert, key = tls.ensure_certificate(layout.store)
        ssl_context = tls.server_context(cert, key)
        layout.update_config(api_ca_file=str(cert))
        with api.store.lock:
            api.root_ca = cert.read_text()
            for ns in api.store.list(NAMESPACE_KEY):
                if not ns["metadata"].get("deletionTimestamp"):
                    api.fill_namespace(ns["metadata"]["name"])
    except (OSError, subprocess.SubprocessError, ssl.SSLError) as e:
        # without TLS kubectl will not send its token; Python clients still work over http
        log.warning("serving plain HTTP only: cannot make a TLS certificate with openssl: %s", e)
    try:
        server = ApiHTTPServer((args.host, args.port), api, args.token, ssl_context,
                               layout.pod_log)
    except OSError as e:
        log.error("cannot listen on %s:%d: %s", args.host, args.port, e.strerror)
        return 1
    port = server.server_address[1]
    layout.update_config(api_port=port)
    collector.start()

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        collector.stop()
        server.server_close()
        api.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
