"""``canary stat`` and the ``linkerd viz stat`` look-alike: golden metrics per deployment or pod,
computed from Prometheus with linkerd-viz's own queries, printed in Linkerd's table.

linkerd/linkerd2 ``viz/cmd/stat.go`` (columns, row format), ``viz/metrics-api/stat_summary.go``
(labels, group-by, which rows), ``viz/metrics-api/prometheus.go`` (queries). On the sandbox the
window is spec time: it is multiplied by the published time scale for the query, and RPS is per
spec second, so the figures read as they would on a real cluster.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADERS = ("NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99",
           "TCP_CONN")
RESOURCES = {"deploy": "deployment", "deployment": "deployment", "deployments": "deployment",
             "po": "pod", "pod": "pod", "pods": "pod"}
DEFAULT_WINDOW = "1m"
MIN_WINDOW_S = 15.0  # viz/cmd/stat.go validates --time-window >= 15s
PROMETHEUS_URL = "http://prometheus.linkerd-viz:9090"
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))

Sample = tuple[dict[str, str], float]
Query = Callable[[str], list[Sample]]


class UsageError(Exception):
    """Bad command line; the message names the argument."""


@dataclass(frozen=True)
class StatRequest:
    namespace: str
    resource: str  # "deployment" or "pod"
    name: str | None = None
    from_kind: str | None = None
    from_name: str | None = None
    window: str = DEFAULT_WINDOW
    prometheus: str | None = None
    kubeconfig: str | None = None

    @property
    def window_s(self) -> float:
        return parse_duration(self.window)


@dataclass
class Stats:
    success: int = 0
    failure: int = 0
    latency: dict[str, int] = field(default_factory=dict)
    tcp: int = 0
    seen: bool = False


@dataclass(frozen=True)
class Row:
    name: str
    meshed: str
    stats: Stats | None
    status: str = ""


# -- command line -------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``1m``, ``30s``, ``1m30s``, ``500ms``)."""
    t = text.strip()
    if not t or _DURATION.sub("", t):
        raise UsageError(f"--time-window: {text!r} is not a duration such as 30s, 1m or 1m30s")
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(t))


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--from", dest="from_", metavar="RESOURCE",
                   help="only traffic sent by this resource, e.g. deploy/load")
    p.add_argument("-t", "--time-window", default=DEFAULT_WINDOW,
                   help="window of the stats (spec time on the sandbox), default 1m")
    p.add_argument("--prometheus", metavar="URL",
                   help="Prometheus to query (default: the sandbox's, or $CANARY_PROMETHEUS_URL)")
    p.add_argument("--kubeconfig", default=None)
    p.add_argument("resource", nargs="+", metavar="RESOURCE",
                   help="deploy|po, optionally with a name: deploy podinfo or deploy/podinfo")
    return p


def _split(words: Sequence[str], what: str) -> tuple[str, str | None]:
    if len(words) == 1 and "/" in words[0]:
        kind, name = words[0].split("/", 1)
        words = [kind, name]
    if not words or len(words) > 2:
        raise UsageError(f"{what}: expected a type and an optional name, got {' '.join(words)!r}")
    kind = RESOURCES.get(words[0].lower())
    if kind is None:
        raise UsageError(f"{what}: unsupported resource type {words[0]!r} "
                         f"(supported: {', '.join(sorted(RESOURCES))})")
    return kind, (words[1] if len(words) == 2 else None)


def parse_args(argv: Sequence[str], prog: str = "canary stat") -> StatRequest:
    try:
        a = _parser(prog).parse_args(list(argv))
    except SystemExit as e:
        if e.code == 0:
            raise
        raise UsageError("bad arguments (see --help)") from None
    kind, name = _split(a.resource, "RESOURCE")
    from_kind = from_name = None
    if a.from_:
        from_kind, from_name = _split([a.from_], "--from")
        if from_name is None:
            raise UsageError(f"--from: {a.from_!r} needs a name, e.g. deploy/load")
    if parse_duration(a.time_window) < MIN_WINDOW_S:
        raise UsageError(f"--time-window: {a.time_window!r} is shorter than 15s")
    return StatRequest(namespace=a.namespace, resource=kind, name=name, from_kind=from_kind,
                       from_name=from_name, window=a.time_window, prometheus=a.prometheus,
                       kubeconfig=a.kubeconfig)


def linkerd_argv(argv: Sequence[str]) -> list[str]:
    """``linkerd viz [flags] stat ARGS`` -> the arguments of ``canary stat``; cobra takes a
    parent's flags anywhere on the line, so ``linkerd viz -n test stat ...`` works."""
    args = list(argv)
    positions = [i for i, a in enumerate(args) if not a.startswith("-")]
    # Words that are flag values (-n test) are not subcommands.
    takes_value = {"-n", "--namespace", "--from", "-t", "--time-window", "--kubeconfig",
                   "--context", "--prometheus", "-o", "--output"}
    words = [i for i in positions if i == 0 or args[i - 1] not in takes_value]
    if len(words) < 2 or args[words[0]] != "viz" or args[words[1]] != "stat":
        got = " ".join(args[i] for i in words[:2]) or "nothing"
        raise UsageError(f"this linkerd only runs `linkerd viz stat ...` on the sandbox "
                         f"(got {got!r}); install the real linkerd CLI for the rest")
    out = [a for i, a in enumerate(args) if i not in (words[0], words[1])]
    if "-o" in out or "--output" in out:
        k = out.index("-o") if "-o" in out else out.index("--output")
        if k + 1 < len(out) and out[k + 1] != "table":
            raise UsageError(f"--output {out[k + 1]!r} is not supported here; only the table")
        del out[k:k + 2]
    if "--context" in out:
        k = out.index("--context")
        del out[k:k + 2]
    return out


# -- queries (pure) -----------------------------------------------------------------------------

def _matcher(labels: dict[str, str]) -> str:
    # model.LabelSet.String(): sorted names
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def request_labels(req: StatRequest) -> tuple[dict[str, str], list[str]]:
    """(label matchers, group-by) as ``buildRequestLabels`` makes them."""
    if req.from_kind:
        labels = {req.from_kind: req.from_name or "", "namespace": req.namespace,
                  "dst_namespace": req.namespace, "direction": "outbound"}
        if req.name:
            labels[f"dst_{req.resource}"] = req.name
        return labels, ["dst_namespace", f"dst_{req.resource}"]
    labels = {"namespace": req.namespace, "direction": "inbound"}
    if req.name:
        labels[req.resource] = req.name
    return labels, ["namespace", req.resource]


def queries(req: StatRequest, query_window: str) -> dict[str, str]:
    labels, group = request_labels(req)
    m, by = _matcher(labels), ", ".join(group)
    out = {"requests": f"sum(increase(response_total{m}[{query_window}])) "
                       f"by ({by}, classification, tls)",
           "tcp": f"sum(tcp_open_connections{m}) by ({by})"}
    for key, q in QUANTILES:
        out[key] = (f"histogram_quantile({q}, sum(irate(response_latency_ms_bucket{m}"
                    f"[{query_window}])) by (le, {by}))")
    return out


def prom_duration(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _value(v: float) -> int:
    # viz/metrics-api/prometheus.go extractSampleValue: rounded, NaN -> 0
    return 0 if math.isnan(v) else int(math.floor(v + 0.5))  # Go math.Round: half away


def collect(req: StatRequest, results: dict[str, list[Sample]]) -> dict[str, Stats]:
    """Per resource name, the stats the query results hold."""
    _, group = request_labels(req)
    key = group[-1]
    out: dict[str, Stats] = {}

    def stats(labels: dict[str, str]) -> Stats | None:
        name = labels.get(key)
        return out.setdefault(name, Stats()) if name else None

    for labels, v in results.get("requests", []):
        s = stats(labels)
        if s is None:
            continue
        s.seen = True
        if labels.get("classification") == "success":
            s.success += _value(v)
        elif labels.get("classification") == "failure":
            s.failure += _value(v)
    for q, _ in QUANTILES:
        for labels, v in results.get(q, []):
            s = stats(labels)
            if s is not None:
                s.latency[q] = _value(v)
    for labels, v in results.get("tcp", []):
        s = stats(labels)
        if s is not None:
            s.tcp = _value(v)
    return out


# -- the table (pure) ---------------------------------------------------------------------------

def cells(row: Row, window_s: float, pod: bool) -> list[str]:
    head = [row.name] + ([row.status] if pod else []) + [row.meshed]
    s = row.stats
    if s is None or not s.seen:
        return head + ["-"] * 6
    total = s.success + s.failure
    success = 100.0 * s.success / total if total else 0.0
    return head + [f"{success:.2f}%", f"{total / window_s:.1f}rps",
                   *(f"{s.latency.get(q, 0)}ms" for q, _ in QUANTILES), str(s.tcp)]


def format_table(rows: list[Row], window_s: float, pod: bool) -> str:
    """Linkerd's tabwriter layout: names left-aligned, the rest right-aligned, 3 spaces apart."""
    header = list(HEADERS[:1]) + (["STATUS"] if pod else []) + list(HEADERS[1:])
    table = [header] + [cells(r, window_s, pod) for r in sorted(rows, key=lambda r: r.name)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        parts = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                        strict=True)]
        lines.append("   ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


# -- the cluster --------------------------------------------------------------------------------

def _meshed(pod: dict[str, Any], ns_annotations: dict[str, str]) -> bool:
    from canary.sandbox.mesh.state import INJECT_ANNOTATION

    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if "linkerd-proxy" in containers:
        return True
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(INJECT_ANNOTATION)
    return (value if value is not None else ns_annotations.get(INJECT_ANNOTATION)) == "enabled"


def pod_status(pod: dict[str, Any]) -> str:
    """What ``kubectl get po`` shows in STATUS, roughly (k8s.GetPodStatus)."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    st = pod.get("status") or {}
    for c in st.get("containerStatuses") or []:
        reason = ((c.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return str(st.get("reason") or st.get("phase") or "Unknown")


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = selector.get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def objects(client: Any, req: StatRequest) -> dict[str, Row]:
    """Every Deployment (or Pod) of the namespace with its MESHED count (meshed/running)."""
    ns_obj = client.request("GET", f"/api/v1/namespaces/{req.namespace}").json()
    ns_ann = ((ns_obj or {}).get("metadata") or {}).get("annotations") or {}
    pods = client.items("v1", "Pod", req.namespace)
    out: dict[str, Row] = {}
    if req.resource == "pod":
        for p in pods:
            name = p["metadata"]["name"]
            running = (p.get("status") or {}).get("phase") != "Failed"
            meshed = int(running and _meshed(p, ns_ann))
            out[name] = Row(name, f"{meshed}/{int(running)}", None, pod_status(p))
        return out
    for d in client.items("apps/v1", "Deployment", req.namespace):
        sel = (d.get("spec") or {}).get("selector") or {}
        mine = [p for p in pods if _selects(sel, (p.get("metadata") or {}).get("labels") or {})
                and (p.get("status") or {}).get("phase") != "Failed"]
        meshed = sum(_meshed(p, ns_ann) for p in mine)
        out[d["metadata"]["name"]] = Row(d["metadata"]["name"], f"{meshed}/{len(mine)}", None)
    return out


def find_prometheus(kubeconfig: str | None) -> str | None:
    """The sandbox's Prometheus, found through the sandbox dir that holds the kubeconfig:
    its in-cluster name resolved with ``dns.json``, else ``config.json`` ``prometheus_port``."""
    from canary.sandbox.layout import SandboxLayout
    from canary.sandbox.resolver import ResolveError, resolve_url

    path = kubeconfig or (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    if not path:
        return None
    root = Path(path).resolve().parent
    layout = SandboxLayout(root)
    if not layout.config_file.exists():
        return None
    try:
        return resolve_url(PROMETHEUS_URL, None, str(root))
    except ResolveError:
        port = layout.read_config().get("prometheus_port")
        return f"http://127.0.0.1:{port}" if port else None


def prometheus_query(address: str) -> Query:
    import requests

    session = requests.Session()
    session.trust_env = False  # the sandbox's Prometheus is local; no HTTP proxy applies

    def run(q: str) -> list[Sample]:
        try:
            resp = session.get(f"{address.rstrip('/')}/api/v1/query", params={"query": q},
                               timeout=10)
            resp.raise_for_status()
            data = resp.json()["data"]["result"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as e:
            raise UsageError(f"Prometheus at {address} did not answer {q!r}: {e}") from None
        return [(dict(s.get("metric") or {}), float(s["value"][1])) for s in data]

    return run


def stat(req: StatRequest, client: Any, query: Query, scale: float) -> str:
    """The table for ``req``: rows as ``k8sResourceQuery`` picks them (every object; with
    ``--from`` only those with stats)."""
    window_s = req.window_s
    results = {k: query(q) for k, q in queries(req, prom_duration(window_s * scale)).items()}
    found = collect(req, results)
    objs = objects(client, req)
    if req.name:
        objs = {k: v for k, v in objs.items() if k == req.name}
    names = [n for n in found if n in objs] if req.from_kind else list(objs)
    rows = [Row(n, objs[n].meshed, found.get(n), objs[n].status) for n in names]
    if not rows:
        return ""
    return format_table(rows, window_s, req.resource == "pod")


def run(req: StatRequest) -> int:
    from canary.controller.scale_discovery import ScaleMismatch, published_scale
    from canary.kube.client import ApiError, ApiUnavailable, KubeClient

    kubeconfig = req.kubeconfig or os.environ.get("KUBECONFIG") or None
    address = (req.prometheus or os.environ.get("CANARY_PROMETHEUS_URL")
               or find_prometheus(kubeconfig))
    if not address:
        print("error: cannot find Prometheus: pass --prometheus URL (or set "
              "CANARY_PROMETHEUS_URL), e.g. after `kubectl -n linkerd-viz port-forward "
              "svc/prometheus 9090`", file=sys.stderr)
        return 1
    try:
        client = KubeClient.from_kubeconfig(kubeconfig)
        scale = published_scale(client) or 1.0
        table = stat(req, client, prometheus_query(address), scale)
    except (ScaleMismatch, ApiError, ApiUnavailable, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not table:
        print("No traffic found.", file=sys.stderr)
        return 0
    sys.stdout.write(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(parse_args(argv))
    except UsageError as e:
        print(f"canary stat: {e}", file=sys.stderr)
        return 2


def linkerd_main(argv: list[str] | None = None) -> int:
    """Entry point of the ``linkerd`` shim the harness puts at the end of PATH."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(parse_args(linkerd_argv(argv), prog="linkerd viz stat"))
    except UsageError as e:
        print(f"linkerd: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
