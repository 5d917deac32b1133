"""Traffic sampling: what the demo's load generator saw, split by the weight steps.

The demo's load generator (image ``buoyantio/slow_cooker``) serves cumulative JSON counters on
``POD_IP:9999/stats``: ``{"requests", "failures", "by_status", "by_version", "window": [...]}``.
The recorder samples them into ``client`` timeline entries; here they are attributed to the
weight step in force at the time, so the measured canary share can be held against the weight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from canary.harness.timeline import Timeline, client_deltas, route_canary_weights
from canary.kube.client import KubeClient

STATS_PORT = 9999
LOADGEN_IMAGES = ("buoyantio/slow_cooker",)


def image_version(image: str) -> str:
    """``quay.io/stefanprodan/podinfo:1.7.1`` -> ``1.7.1`` (podinfo reports its tag as version)."""
    tail = image.rsplit("/", 1)[-1]
    return tail.split(":", 1)[1].split("@", 1)[0] if ":" in tail else "latest"


def share_by_step(tl: Timeline, route: str, canary_version: str, since: float,
                  until: float | None, source: str | None = None,
                  namespace: str | None = None) -> list[dict[str, Any]]:
    """One row per canary weight step (> 0) in the window:
    ``{"weight", "t0", "t1", "requests", "canary"}`` where ``canary`` counts answers from the
    canary version. Client samples straddling a weight change are dropped, not guessed."""
    pts = [(t, w) for t, w in route_canary_weights(tl, route, namespace)]
    segments: list[list[float]] = []
    for i, (t, w) in enumerate(pts):
        end = pts[i + 1][0] if i + 1 < len(pts) else (until if until is not None else float("inf"))
        start = max(t, since)
        if until is not None:
            end = min(end, until)
        if w > 0 and end > start:
            segments.append([start, end, w])
    rows: list[dict[str, Any]] = []
    for start, end, w in segments:
        row = {"weight": int(w), "t0": start, "t1": end, "requests": 0, "canary": 0}
        for d in client_deltas(tl, source, namespace):
            if d["t0"] >= start and d["t1"] <= end:
                answered = sum(d["by_version"].values())
                row["requests"] += answered
                row["canary"] += d["by_version"].get(canary_version, 0)
        rows.append(row)
    return rows


def loadgen_sources(client: KubeClient, pod_url: Callable[[dict[str, Any], int], str],
                    label_selector: str | None = None) -> Callable[[str], list[tuple[str, str]]]:
    """A recorder stats source: running load generator pods in a namespace -> their stats URL.

    Without a selector, pods whose container image is a known load generator are used.
    """
    def sources(namespace: str) -> list[tuple[str, str]]:
        out = []
        for pod in client.items("v1", "Pod", namespace, label_selector):
            st = pod.get("status") or {}
            if st.get("phase") != "Running" or not st.get("podIP"):
                continue
            images = [c.get("image", "") for c in (pod.get("spec") or {}).get("containers", [])]
            if label_selector is None and not any(i.startswith(LOADGEN_IMAGES) for i in images):
                continue
            labels = (pod.get("metadata") or {}).get("labels") or {}
            name = labels.get("app") or pod["metadata"]["name"]
            out.append((name, pod_url(pod, STATS_PORT) + "/stats"))
        return out
    return sources
