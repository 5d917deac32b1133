"""Linkerd proxy metric families, kept per label set and rendered in Prometheus text format.

Written by hand rather than with prometheus-client so every series carries exactly the label set
Linkerd + linkerd-viz produce (label sets differ per series, which client registries forbid).
Counters are cumulative for the life of the mesh process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from canary.sandbox.mesh.labels import Labels
from canary.sandbox.mesh.state import MeshState

# linkerd/metrics/src/latency.rs BOUNDS, in milliseconds.
LATENCY_BUCKETS_MS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000,
                      3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)


def classify(status: int | None) -> str:
    """Linkerd's default HTTP classifier: 5xx and proxy errors are failures, the rest success."""
    return "failure" if status is None or 500 <= status <= 599 else "success"


class _Histogram:
    __slots__ = ("buckets", "sum", "count")

    def __init__(self) -> None:
        self.buckets = [0] * len(LATENCY_BUCKETS_MS)
        self.sum = 0.0
        self.count = 0

    def observe(self, ms: float) -> None:
        for i, bound in enumerate(LATENCY_BUCKETS_MS):
            if ms <= bound:
                self.buckets[i] += 1
        self.sum += ms
        self.count += 1


class MeshMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[Labels, int] = {}
        self._responses: dict[Labels, int] = {}
        self._latency: dict[Labels, _Histogram] = {}
        # Open connections per owner (a tuple of the label sets of the connection's ends), set
        # by the proxy from its connection pool: the ``tcp_open_connections`` gauge.
        self.tcp_source: Callable[[], dict[Hashable, int]] | None = None

    def request(self, labels: Labels) -> None:
        """A request stream began (``request_total``)."""
        with self._lock:
            self._requests[labels] = self._requests.get(labels, 0) + 1

    def response(self, labels: Labels, status: int | None, latency_ms: float,
                 error: str = "") -> None:
        """A response ended: ``response_total`` and ``response_latency_ms``.

        ``status`` None is a proxy-level error (no response from the app): such series carry no
        ``status_code`` and an ``error`` label instead, as in Linkerd.
        """
        status_labels: Labels = () if status is None else (("status_code", str(status)),)
        resp = labels + status_labels + (("classification", classify(status)),)
        if status is None:
            resp += (("error", error or "unexpected"),)
        lat = labels + status_labels
        with self._lock:
            self._responses[resp] = self._responses.get(resp, 0) + 1
            hist = self._latency.get(lat)
            if hist is None:
                hist = self._latency[lat] = _Histogram()
            hist.observe(latency_ms)

    def forget(self, predicate: Callable[[dict[str, str]], bool]) -> int:
        """Drop every series whose labels satisfy ``predicate`` (a deleted pod's proxy)."""
        n = 0
        with self._lock:
            for table in (self._requests, self._responses, self._latency):
                for key in [k for k in table if predicate(dict(k))]:
                    del table[key]
                    n += 1
        return n

    def render(self) -> str:
        with self._lock:
            requests = sorted(self._requests.items())
            responses = sorted(self._responses.items())
            latency = sorted((k, (list(h.buckets), h.sum, h.count))
                             for k, h in self._latency.items())
        out = ["# HELP request_total Total count of HTTP requests.",
               "# TYPE request_total counter"]
        out += [f"request_total{_fmt(k)} {v}" for k, v in requests]
        out += ["# HELP response_total Total count of HTTP responses.",
                "# TYPE response_total counter"]
        out += [f"response_total{_fmt(k)} {v}" for k, v in responses]
        out += ["# HELP response_latency_ms Elapsed times between a request's headers being "
                "received and its response stream completing",
                "# TYPE response_latency_ms histogram"]
        for k, (buckets, total, count) in latency:
            for bound, n in zip(LATENCY_BUCKETS_MS, buckets, strict=True):
                out.append(f"response_latency_ms_bucket{_fmt(k + (('le', str(bound)),))} {n}")
            out.append(f"response_latency_ms_bucket{_fmt(k + (('le', '+Inf'),))} {count}")
            out.append(f"response_latency_ms_sum{_fmt(k)} {_num(total)}")
            out.append(f"response_latency_ms_count{_fmt(k)} {count}")
        out += ["# HELP tcp_open_connections Number of currently-open connections.",
                "# TYPE tcp_open_connections gauge"]
        out += [f"tcp_open_connections{_fmt(k)} {v}" for k, v in self._tcp_gauge()]
        return "\n".join(out) + "\n"

    def _tcp_gauge(self) -> list[tuple[Labels, int]]:
        """One series per end of each open connection: the client's outbound side
        (``peer="dst"``) and the server's inbound side (``peer="src"``), as Linkerd's transport
        metrics carry them; the per-request ``authority`` is not a transport label."""
        gauge: dict[Labels, int] = {}
        for owner, n in (self.tcp_source() if self.tcp_source else {}).items():
            if not isinstance(owner, tuple):
                continue
            for labels in owner:
                d = dict(labels)
                peer = "dst" if d.get("direction") == "outbound" else "src"
                key = tuple((k, v) for k, v in labels if k != "authority") + (("peer", peer),)
                gauge[key] = gauge.get(key, 0) + n
        return sorted(gauge.items())


def expire_deleted_pods(state: MeshState, metrics: MeshMetrics, retain_s: float) -> None:
    """Drop a deleted pod's series ``retain_s`` after its deletion.

    In a cluster a deleted pod's proxy stops being scraped and its series go stale; here one
    endpoint serves all pods, so their series must leave the exposition instead.
    """
    def on_change(kind: str, event_type: str, obj: dict) -> None:
        if kind != "Pod" or event_type != "DELETED":
            return
        md = obj.get("metadata") or {}
        ns, name = md.get("namespace"), md.get("name")

        def gone(lab: dict[str, str]) -> bool:
            return lab.get("namespace") == ns and lab.get("pod") == name

        def forget() -> None:
            # A pod of the same name may have come back meanwhile (StatefulSets): keep it then.
            if state.pod(ns or "", name or "") is None:
                metrics.forget(gone)

        timer = threading.Timer(retain_s, forget)
        timer.daemon = True
        timer.start()

    state.on_change(on_change)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)
