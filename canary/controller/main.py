"""``canary engine``: the controller process for Canaries (and Argo Rollouts when present)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from canary.clock import Clock
from canary.controller.leader import LeaderElector, LeaseTimes
from canary.controller.logs import setup_logging
from canary.controller.observability import ObservabilityServer
from canary.controller.scale_discovery import ScaleMismatch, published_scale, settle_scale
from canary.kube.client import ApiError, ApiUnavailable, KubeClient, KubeConfig

log = logging.getLogger("canary.engine")

UrlResolver = Callable[[str, "str | None"], str]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="canary engine",
                                description="Run the Flagger-compatible canary controller.")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig of the cluster (default $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context (default: current-context)")
    p.add_argument("--namespace", help="watch only this namespace (default: all)")
    p.add_argument("--metrics-server", default=None,
                   help="Prometheus URL of the builtin metrics, as Flagger's -metrics-server "
                        "(default http://prometheus.linkerd-viz:9090, Flagger's Linkerd install)")
    p.add_argument("--mesh-provider", default="gatewayapi:v1beta1",
                   help="Flagger's -mesh-provider: picks the builtin metrics' queries and the "
                        "router of canaries without spec.provider (default gatewayapi:v1beta1)")
    p.add_argument("--metrics-address-override",
                   help="not a Flagger flag: a Prometheus URL replacing every address, "
                        "MetricTemplates' included (an engine outside the cluster, via a "
                        "port-forward)")
    p.add_argument("--time-scale", type=float, default=None,
                   help="wall seconds per spec second (0.05 makes a 10s interval 0.5s); "
                        "default: the scale the cluster publishes (ConfigMap "
                        "kube-system/canary-sandbox), else 1; a different value is refused")
    p.add_argument("--log-format", choices=["json", "text"], default="text")
    p.add_argument("--port", type=int, default=0,
                   help="port for /metrics and /healthz on 127.0.0.1 (0 = a free port)")
    p.add_argument("--bind-address", default="127.0.0.1",
                   help="address of /metrics and /healthz (the kind image's entrypoints pass "
                        "0.0.0.0: a real kubelet probes the pod IP)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="also serve /metrics on this port (Argo's --metricsPort 8090 beside "
                        "its --healthzPort 8080; default: --port only)")
    p.add_argument("--startup-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up (exit 1) when the API server has not answered by then")
    p.add_argument("--sandbox-dir",
                   help="sandbox directory whose dns.json resolves in-cluster addresses")
    p.add_argument("--mode", choices=MODES, default="all",
                   help="which loops run: flagger (Canary), argo (Rollout) or all (default); "
                        "the in-cluster images run one each, as the real controllers")
    p.add_argument("--enable-leader-election", "--leader-elect", dest="leader_elect",
                   nargs="?", const="true", default="false", metavar="BOOL",
                   help="act only while holding a coordination.k8s.io/v1 Lease (Flagger's "
                        "-enable-leader-election, Argo's --leader-elect)")
    p.add_argument("--leader-election-namespace", default=None,
                   help="namespace of the Lease (default: the pod's namespace, else "
                        "kube-system)")
    p.add_argument("--watch-cache", action=argparse.BooleanOptionalAction, default=True,
                   help="not a Flagger flag: serve the loops' reads from watch-backed caches "
                        "(canary/kube/cache.py; on by default, --no-watch-cache reads every "
                        "object from the API each tick)")
    # accepted for Flagger's and Argo's own Deployment args; no effect here
    p.add_argument("--log-level", default="info", help=argparse.SUPPRESS)
    p.add_argument("--include-label-prefix", default="", help=argparse.SUPPRESS)
    return p


def make_resolver(sandbox_dir: str | None) -> UrlResolver:
    """In-cluster hostnames -> sandbox addresses when a sandbox directory is known."""
    if not sandbox_dir:
        return lambda url, namespace=None: url
    from canary.sandbox.resolver import resolve_url

    def resolve(url: str, namespace: str | None = None) -> str:
        return resolve_url(url, namespace, sandbox_dir)

    return resolve


def wait_for_api(client: KubeClient, timeout: float,
                 stop: threading.Event | None = None) -> str | None:
    """None once the API server answers; otherwise why it did not within ``timeout`` seconds
    (wall time: start-up is not time-scaled). Refused credentials end the wait at once."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            client.request("GET", "/version", timeout=5)
            return None
        except ApiError as e:
            if e.code in (401, 403):
                return f"the API server {client.config.server} refused the credentials: {e}"
            return None  # it answers; what it answered is the loops' business
        except ApiUnavailable as e:
            if time.monotonic() >= deadline:
                return f"{e} (gave up after {timeout:g}s; see --startup-timeout)"
            if not told:
                log.warning("%s; waiting up to %gs for it", e, timeout)
                told = True
            (stop or threading.Event()).wait(min(1.0, max(0.0, deadline - time.monotonic())))
            if stop is not None and stop.is_set():
                return "stopped while waiting for the API server"


def _sandbox_dir(args: argparse.Namespace) -> str | None:
    if args.sandbox_dir:
        return args.sandbox_dir
    if os.environ.get("CANARY_SANDBOX_DIR"):  # a sandbox pod: the sandbox's DNS stand-in
        return os.environ["CANARY_SANDBOX_DIR"]
    if args.kubeconfig:
        d = os.path.dirname(os.path.abspath(args.kubeconfig))
        if os.path.exists(os.path.join(d, "dns.json")):
            return d
    return None


MODES = ("all", "flagger", "argo")
GO_FLAGS = ("metrics-server", "mesh-provider", "port", "namespace", "kubeconfig", "log-level",
            "include-label-prefix", "enable-leader-election", "leader-election-namespace")
# client-go durations in spec seconds: Flagger's (cmd/flagger/main.go:356-358) and Argo
# Rollouts' defaults (utils/defaults/defaults.go: 15s/10s/2s)
LEASES = {"flagger": ("flagger-leader-election", LeaseTimes(60, 15, 5)),
          "argo": ("argo-rollouts-controller-lock", LeaseTimes(15, 10, 2)),
          "all": ("canary-engine-leader-election", LeaseTimes(15, 10, 2))}


def go_style(argv: list[str]) -> list[str]:
    """Accept Flagger's Go flag spelling (``-metrics-server=URL``) for its flags."""
    out = []
    for a in argv:
        name = a[1:].split("=", 1)[0]
        out.append("-" + a if a.startswith("-") and not a.startswith("--")
                   and name in GO_FLAGS else a)
    return out


def _client(args: argparse.Namespace) -> KubeClient:
    """No kubeconfig inside a pod: the service account, as client-go's BuildConfigFromFlags
    does for Flagger and Argo (in-cluster first when no kubeconfig is named)."""
    if not args.kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return KubeClient(KubeConfig.in_cluster())
    return KubeClient.from_kubeconfig(args.kubeconfig, args.context)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(go_style(argv))
    setup_logging(args.log_format)
    if args.time_scale is not None and args.time_scale <= 0:
        print(f"canary engine: --time-scale must be > 0, got {args.time_scale}", file=sys.stderr)
        return 2
    leader_elect = str(args.leader_elect).lower()
    if leader_elect not in ("true", "false", "1", "0"):
        print(f"canary engine: --enable-leader-election: expected true or false, got "
              f"{args.leader_elect!r}", file=sys.stderr)
        return 2
    try:
        client = _client(args)
    except ApiUnavailable as e:
        print(f"canary engine: {e}", file=sys.stderr)
        return 2
    # Installed before anything starts: a SIGTERM during start-up still stops cleanly.
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    problem = wait_for_api(client, args.startup_timeout, stop)
    if problem:
        print(f"canary engine: {problem}", file=sys.stderr)
        return 1
    try:
        args.time_scale = settle_scale(args.time_scale, lambda: published_scale(client))
    except ScaleMismatch as e:
        print(f"canary engine: {e}", file=sys.stderr)
        return 2
    clock = Clock(args.time_scale)
    resolver = make_resolver(_sandbox_dir(args))

    from canary.controller.flagger_loop import FlaggerController
    from canary.controller.metrics_registry import EngineMetrics

    metrics = EngineMetrics()
    client.on_request = metrics.api_request
    server = ObservabilityServer(metrics.registry, args.port, args.bind_address)
    try:
        server.start()
    except OSError as e:
        print(f"canary engine: cannot listen on {args.bind_address}:{args.port}: {e}",
              file=sys.stderr)
        return 2
    servers = [server]
    if args.metrics_port is not None and args.metrics_port != server.port:
        servers.append(ObservabilityServer(metrics.registry, args.metrics_port,
                                           args.bind_address))
        try:
            servers[-1].start()
        except OSError as e:
            server.stop()
            print(f"canary engine: cannot listen on {args.bind_address}:{args.metrics_port}: {e}",
                  file=sys.stderr)
            return 2
    print(f"canary engine: metrics on http://{args.bind_address}:{servers[-1].port}/metrics",
          flush=True)
    log.info("engine starting: server=%s namespace=%s time-scale=%s metrics-server=%s",
             client.config.server, args.namespace or "<all>", args.time_scale,
             args.metrics_server or "http://prometheus.linkerd-viz:9090 (default)")

    lost = threading.Event()
    elector = None
    if leader_elect in ("true", "1"):
        name, times = LEASES[args.mode]
        # Flagger's -leader-election-namespace defaults to kube-system; Argo uses its own
        ns = args.leader_election_namespace or (
            "kube-system" if args.mode == "flagger"
            else os.environ.get("POD_NAMESPACE") or "kube-system")
        elector = LeaderElector(client, ns, name, clock, times)
        if not elector.acquire(stop):
            for srv in servers:
                srv.stop()
            return 0
        threading.Thread(target=elector.keep, args=(stop, lost), name="leader",
                         daemon=True).start()
    threads = []
    # the loops read through watch-backed caches; the Lease stays on the plain client
    from canary.kube.cache import CachedClient

    reader = CachedClient(client, stop, args.namespace) if args.watch_cache else client
    if args.mode in ("all", "flagger"):
        flagger = FlaggerController(reader, clock, args.namespace, metrics=metrics,
                                    metrics_server=args.metrics_server, resolve_url=resolver,
                                    mesh_provider=args.mesh_provider,
                                    metrics_override=args.metrics_address_override)
        threads.append(threading.Thread(target=flagger.run, args=(stop,), name="flagger",
                                        daemon=True))
    if args.mode in ("all", "argo") and \
            importlib.util.find_spec("canary.controller.argo_loop") is not None:
        from canary.controller.argo_loop import RolloutController

        argo = RolloutController(reader, clock, args.namespace, logging.getLogger("canary.argo"),
                                 resolve_url=resolver, metrics_server=args.metrics_server,
                                 metrics=metrics)
        threads.append(threading.Thread(target=argo.run, args=(stop,), name="rollouts",
                                        daemon=True))
    for t in threads:
        t.start()
    while not stop.is_set():
        stop.wait(0.5)
        if not all(t.is_alive() for t in threads):
            log.error("a controller thread died; stopping")
            stop.set()
            break
        if lost.is_set():  # as Flagger's OnStoppedLeading: exit, the kubelet restarts us
            stop.set()
    for t in threads:
        t.join(timeout=5)
    if elector is not None:
        elector.release()
    for srv in servers:
        srv.stop()
    log.info("engine stopped")
    return 1 if lost.is_set() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
