"""Records a rollout into a :class:`~canary.harness.timeline.Timeline` while it happens.

Kubernetes state comes from the shared informer (HTTPRoutes, Canaries, Rollouts, Events), which
resumes from the last ``resourceVersion`` and relists on 410 Gone, so no weight step is missed
even when it lasts a fraction of a second. Prometheus' success rate and the load generator's
counters are sampled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from canary.harness.timeline import TimelineBuffer
from canary.kube.client import KubeClient
from canary.kube.informer import Informer
from canary.router.gatewayapi import HTTPROUTE_VERSIONS

CANARY_VERSION = "flagger.app/v1beta1"
ROLLOUT_VERSION = "argoproj.io/v1alpha1"
WATCH_TIMEOUT = 5  # seconds; bounds how long stop() waits for a quiet watch to notice

SUCCESS_RATE_QUERY = (
    'sum(rate(response_total{{namespace="{ns}",deployment=~"{target}",'
    'classification!="failure",direction="inbound"}}[{window}]))'
    ' / sum(rate(response_total{{namespace="{ns}",deployment=~"{target}",'
    'direction="inbound"}}[{window}])) * 100'
)

StatsSources = Callable[[str], list[tuple[str, str]]]  # namespace -> [(source name, stats URL)]


def route_backends(route: dict[str, Any]) -> dict[str, int]:
    """Backend name -> weight of the first rule with two or more backendRefs (the split rule)."""
    rules = (route.get("spec") or {}).get("rules") or []
    for rule in rules:
        refs = rule.get("backendRefs") or []
        if len(refs) >= 2:
            return {r.get("name", "?"): int(r.get("weight", 1)) for r in refs}
    if rules and rules[0].get("backendRefs"):
        return {r.get("name", "?"): int(r.get("weight", 1)) for r in rules[0]["backendRefs"]}
    return {}


def involved(ev: dict[str, Any]) -> str:
    io = ev.get("involvedObject") or ev.get("regarding") or {}
    return f"{io.get('kind', '')}/{io.get('name', '')}"


class TimelineRecorder:
    def __init__(self, client: KubeClient, buffer: TimelineBuffer, *,
                 prometheus_url: str | Callable[[], str | None] | None = None,
                 stats_sources: StatsSources | None = None, time_scale: float = 1.0) -> None:
        self.client = client
        self.buffer = buffer
        # A callable is resolved in the sampler thread: a port-forward may take a while.
        self._prometheus = prometheus_url
        self.prometheus_url: str | None = prometheus_url if isinstance(prometheus_url, str) \
            else None
        self.stats_sources = stats_sources
        self.time_scale = time_scale
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._informers: list[Informer] = []
        self._namespaces: set[str] = set()
        self._pages: set[tuple[str, str]] = set()  # (namespace, source) polled pages
        self._targets: dict[tuple[str, str], str] = {}  # (ns, canary) -> target deployment
        self._event_counts: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def watch_namespace(self, namespace: str) -> None:
        with self._lock:
            if namespace in self._namespaces:
                return
            self._namespaces.add(namespace)
        for versions, kind, handle in ((HTTPROUTE_VERSIONS, "HTTPRoute", self._on_route),
                                       (CANARY_VERSION, "Canary", self._on_canary),
                                       ("v1", "Event", self._on_event),
                                       (ROLLOUT_VERSION, "Rollout", self._on_rollout)):
            inf = Informer(self.client, versions, kind, self._stop, namespace,
                           watch_timeout=WATCH_TIMEOUT, retry=0.5)
            inf.add_handler(lambda typ, obj, _old, handle=handle: handle(typ, obj))
            self._informers.append(inf.start())
        if self._prometheus:
            self._spawn(self._sample_prometheus, namespace)
        if self.stats_sources:
            self._spawn(self._sample_clients, namespace)

    @property
    def namespaces(self) -> list[str]:
        with self._lock:
            return sorted(self._namespaces)

    def stop(self, wait: float = 1.0) -> None:
        first = not self._stop.is_set()
        self._stop.set()
        deadline = time.monotonic() + wait
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        for inf in self._informers:
            inf.join(max(0.0, deadline - time.monotonic()))
        if first:
            self.note_canary_version()
            self.measure_steps()

    def note_canary_version(self) -> None:
        """The version the canary runs (its target's image tag), for the report's observed
        canary share, unless a check already recorded it."""
        from canary.harness.traffic import image_version

        meta = self.buffer.timeline.meta
        with self._lock:
            targets = sorted(set(self._targets.items()))
        if meta.get("canary_version") or len(targets) != 1:
            return
        (ns, _), target = targets[0]
        try:
            dep = self.client.get("apps/v1", "Deployment", target, ns)
            image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        except Exception:  # noqa: BLE001 - gone already: the share stays unknown
            return
        meta["canary_version"] = image_version(str(image))

    def measure_steps(self) -> None:
        """Each weight step's latency and success rate per backend, from Prometheus, into the
        timeline's meta (the report is offline and cannot ask)."""
        if not self.prometheus_url:
            return
        from canary.harness.step_metrics import measure_steps

        with self._lock:
            targets = dict(self._targets)
        try:
            figures = measure_steps(self.prometheus_url, self.buffer.snapshot(), targets,
                                    scrape_s=10 * self.time_scale)  # linkerd-viz: every 10s
        except Exception as e:  # noqa: BLE001 - the report says why the figures are missing
            self.buffer.timeline.meta["step_metrics_error"] = f"{type(e).__name__}: {e}"
            return
        if figures:
            self.buffer.timeline.meta["step_metrics"] = figures

    def poll_page(self, namespace: str, source: str, url: str, period: float) -> bool:
        """Load ``url`` every ``period`` wall seconds until the recording stops, as a user who
        keeps refreshing the page does; each load's version goes to the timeline (kind
        ``page``). False when that source is already polled."""
        with self._lock:
            if (namespace, source) in self._pages:
                return False
            self._pages.add((namespace, source))
        self._spawn(self._poll_page, namespace, source, url, period)
        return True

    def _spawn(self, fn: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True,
                             name=f"recorder-{getattr(fn, '__name__', 'x')}")
        self._threads.append(t)
        t.start()

    # -- watches ----------------------------------------------------------------------------

    def _on_route(self, typ: str, obj: dict[str, Any]) -> None:
        md = obj.get("metadata") or {}
        if typ == "DELETED":
            self.buffer.add("route", dedupe_key=md.get("name"), dedupe_value="<deleted>",
                            namespace=md.get("namespace"), name=md.get("name"), backends={},
                            deleted=True)
            return
        backends = route_backends(obj)
        self.buffer.add("route", dedupe_key=md.get("name"), dedupe_value=backends,
                        namespace=md.get("namespace"), name=md.get("name"), backends=backends)

    def _on_canary(self, typ: str, obj: dict[str, Any]) -> None:
        md = obj.get("metadata") or {}
        st = obj.get("status") or {}
        target = ((obj.get("spec") or {}).get("targetRef") or {}).get("name")
        if target:
            with self._lock:
                self._targets[(md.get("namespace", ""), md.get("name", ""))] = target
        phase = "Deleted" if typ == "DELETED" else st.get("phase") or ""
        state = {"phase": phase, "canaryWeight": st.get("canaryWeight", 0),
                 "failedChecks": st.get("failedChecks", 0), "iterations": st.get("iterations", 0)}
        self.buffer.add("canary", dedupe_key=md.get("name"), dedupe_value=state,
                        namespace=md.get("namespace"), name=md.get("name"), target=target,
                        **state)
        self._settings("Canary", md, (obj.get("spec") or {}).get("analysis"))

    def _on_rollout(self, typ: str, obj: dict[str, Any]) -> None:
        """Argo Rollouts are recorded like Canaries (kind "canary", resource "Rollout") so the
        phase helpers and the report's phase bands work for both."""
        md = obj.get("metadata") or {}
        st = obj.get("status") or {}
        weights = ((st.get("canary") or {}).get("weights") or {}).get("canary") or {}
        phase = "Deleted" if typ == "DELETED" else st.get("phase") or ""
        state = {"phase": phase, "canaryWeight": weights.get("weight", 0),
                 "currentStepIndex": st.get("currentStepIndex"), "message": st.get("message", "")}
        self.buffer.add("canary", dedupe_key=f"Rollout/{md.get('name')}", dedupe_value=state,
                        namespace=md.get("namespace"), name=md.get("name"), resource="Rollout",
                        **state)
        strategy = (obj.get("spec") or {}).get("strategy") or {}
        self._settings("Rollout", md, strategy.get("canary") or strategy.get("blueGreen"))

    def _settings(self, kind: str, md: dict[str, Any], settings: Any) -> None:
        """The analysis settings (Canary ``spec.analysis``, Rollout strategy) for the report,
        recorded again only when they change."""
        if settings:
            self.buffer.add("settings", dedupe_key=f"{kind}/{md.get('name')}",
                            dedupe_value=settings, namespace=md.get("namespace"),
                            name=md.get("name"), resource=kind, settings=settings)

    def _on_event(self, typ: str, ev: dict[str, Any]) -> None:
        if typ == "DELETED":
            return
        uid = (ev.get("metadata") or {}).get("uid") or (ev.get("metadata") or {}).get("name", "")
        count = int(ev.get("count") or (ev.get("series") or {}).get("count") or 1)
        with self._lock:
            seen = self._event_counts.get(uid, 0)
            if count <= seen:
                return
            self._event_counts[uid] = count
        self.buffer.add("event", namespace=(ev.get("metadata") or {}).get("namespace"),
                        object=involved(ev), type=ev.get("type", ""), reason=ev.get("reason", ""),
                        message=ev.get("message") or ev.get("note") or "", count=count)

    # -- samplers ---------------------------------------------------------------------------

    def _window(self) -> str:
        from canary.clock import format_duration

        # linkerd-viz scrapes every 10s (scaled); a rate() needs several scrapes in its window.
        return format_duration(max(60 * self.time_scale, 4 * 10 * self.time_scale, 0.2))

    def query_success_rate(self, ns: str, target: str) -> float | None:
        assert self.prometheus_url
        q = SUCCESS_RATE_QUERY.format(ns=ns, target=target, window=self._window())
        try:
            r = requests.get(self.prometheus_url.rstrip("/") + "/api/v1/query",
                             params={"query": q}, timeout=2)
            result = r.json().get("data", {}).get("result", [])
        except (requests.RequestException, ValueError):
            return None
        if not result:
            return None
        try:
            v = float(result[0]["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        return None if v != v else round(v, 3)  # NaN: no traffic in the window

    def _sample_prometheus(self, ns: str) -> None:
        period = max(0.25, 5 * self.time_scale)
        if self.prometheus_url is None and callable(self._prometheus):
            try:
                self.prometheus_url = self._prometheus()
            except Exception:  # noqa: BLE001 - no Prometheus: no success-rate samples
                return
            if not self.prometheus_url:
                return
        while not self._stop.wait(period):
            with self._lock:
                targets = [(c, t) for (n, c), t in self._targets.items() if n == ns]
            for canary, target in targets:
                sr = self.query_success_rate(ns, target)
                psr = self.query_success_rate(ns, f"{target}-primary")
                self.buffer.add("prometheus", namespace=ns, canary=canary, target=target,
                                success_rate=sr, primary_success_rate=psr)

    def _sample_clients(self, ns: str) -> None:
        assert self.stats_sources
        sources: list[tuple[str, str]] = []
        refreshed = 0.0
        while not self._stop.wait(0.1):
            if time.monotonic() - refreshed > 2.0 or not sources:
                try:
                    sources = self.stats_sources(ns)
                except Exception:  # noqa: BLE001 - pods come and go; try again shortly
                    sources = []
                refreshed = time.monotonic()
            for source, url in sources:
                try:
                    stats = requests.get(url, timeout=1).json()
                except (requests.RequestException, ValueError):
                    continue
                self.buffer.add("client", namespace=ns, source=source,
                                requests=int(stats.get("requests", 0)),
                                failures=int(stats.get("failures", 0)),
                                by_version=dict(stats.get("by_version") or {}),
                                by_status=dict(stats.get("by_status") or {}))


    def _poll_page(self, ns: str, source: str, url: str, period: float) -> None:
        session = requests.Session()
        while not self._stop.wait(period):
            try:
                # the JSON podinfo's page shows (version, colour come from it)
                version = str(session.get(url, timeout=2, headers={
                    "Accept": "application/json"}).json().get("version"))
            except (requests.RequestException, ValueError, AttributeError) as e:
                version = f"error: {type(e).__name__}"
            self.buffer.add("page", namespace=ns, source=source, version=version)
