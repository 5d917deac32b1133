"""The seed's success-rate query and a steady traffic source, shared by Prometheus tests."""

from __future__ import annotations

import re
import threading

from canary.sandbox import prometheus as prom
from support.mesh_backends import call

# The seed's MetricTemplate query, verbatim (progressive-delivery.md, MetricTemplate success-rate).
SEED_QUERY = """sum(
  rate(
    response_total{
      namespace="{{ namespace }}",
      deployment=~"{{ target }}",
      classification!="failure",
      direction="inbound"
    }[{{ interval }}]
  )
)
/
sum(
  rate(
    response_total{
      namespace="{{ namespace }}",
      deployment=~"{{ target }}",
      direction="inbound"
    }[{{ interval }}]
  )
)
* 100
"""
TIME_SCALE = 0.05


def render(namespace: str, target: str, interval: str) -> str:
    q = SEED_QUERY.replace("{{ namespace }}", namespace).replace("{{ target }}", target)
    q = q.replace("{{ interval }}", interval)
    return re.sub(r"\s+", " ", q).strip()  # Flagger collapses whitespace runs


def prometheus_missing() -> str | None:
    try:
        prom.find_binary()
        return None
    except prom.PrometheusError as e:
        return str(e)


class Traffic(threading.Thread):
    """~50 requests/s from the meshed load pod to the apex Service, until stopped."""

    def __init__(self, demo: object) -> None:
        super().__init__(daemon=True)
        self.demo = demo
        self.stop_event = threading.Event()
        self.statuses: list[int] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.statuses.append(call(self.demo.apex, 9898, "/", source=self.demo.load)[0])
            self.stop_event.wait(0.02)


