"""Canary engine cost (prints figures; not a pass/fail test).

    .venv/bin/python bench/engine_bench.py [--canaries 50] [--seconds 10] [--pure-ticks 20000]

1. The pure Flagger decision function: CPU microseconds per tick over whole rollouts.
2. The real controller in this process against a sandbox API server (separate process), with a
   readiness simulator and a Prometheus stand-in in a helper process: N canaries mid-analysis,
   each ticking every second (interval 10s at time scale 0.1). Reports the engine's CPU share,
   CPU and API requests per tick, and tick lateness p50/p99 (start time minus due time).
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.flagger_sandbox import ApiServer, FakePrometheus, ReadinessSimulator  # noqa: E402
from support.flagger_world import World  # noqa: E402

from canary.clock import Clock  # noqa: E402
from canary.controller.flagger_loop import FlaggerController  # noqa: E402
from canary.kube.client import KubeClient, KubeConfig, retry_on_conflict  # noqa: E402

NS = "bench"


def pure_engine(ticks: int) -> None:
    done = 0
    start = time.process_time()
    while done < ticks:
        w = World()
        w.tick()
        w.target_hash = "v2"
        while w.status.get("phase") != "Succeeded":
            w.tick()
            done += 1
    cpu = time.process_time() - start
    print(f"pure engine: {done} ticks, {cpu / done * 1e6:.1f} µs CPU per tick "
          f"(full rollouts incl. status/condition bookkeeping)")


class CountingClient(KubeClient):
    def __init__(self, config: KubeConfig) -> None:
        super().__init__(config)
        self.requests = 0
        self._count_lock = threading.Lock()

    def request(self, method, path, **kw):  # type: ignore[no-untyped-def]
        with self._count_lock:
            self.requests += 1
        return super().request(method, path, **kw)


def helper(kubeconfig: str) -> int:
    """Readiness simulator + Prometheus stand-in, run in their own process."""
    client = KubeClient(KubeConfig.load(kubeconfig))
    prom = FakePrometheus()
    sim = ReadinessSimulator(client, NS)
    sim.start()
    print(prom.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    return 0


def objects(i: int) -> list[dict]:
    name = f"app{i}"
    labels = {"app": name}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": NS},
         "spec": {"selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "app", "image": "img:1"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
         "spec": {"selector": labels, "ports": [{"port": 80}]}},
        {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
         "metadata": {"name": name, "namespace": NS},
         "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                  "service": {"port": 80, "gatewayRefs": [{"name": name, "namespace": NS,
                                                           "group": "core", "kind": "Service",
                                                           "port": 80}]},
                  "analysis": {"interval": "10s", "threshold": 1000, "stepWeight": 1,
                               "maxWeight": 100,
                               "metrics": [{"name": "success-rate", "interval": "1m",
                                            "templateRef": {"name": "success-rate"},
                                            "thresholdRange": {"min": 99}}]}}},
    ]


def controller_bench(n: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as d:
        api = ApiServer(Path(d))
        helper_proc = None
        stop = threading.Event()
        try:
            c = api.client
            c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            c.create({"apiVersion": "flagger.app/v1beta1", "kind": "MetricTemplate",
                      "metadata": {"name": "success-rate", "namespace": NS},
                      "spec": {"provider": {"type": "prometheus", "address": "http://x:9090"},
                               "query": 'sum(rate(x{deployment=~"{{ target }}"}'
                                        '[{{ interval }}])) * 100'}})
            for i in range(n):
                for obj in objects(i):
                    c.create(copy.deepcopy(obj))
            helper_proc = subprocess.Popen(
                [sys.executable, __file__, "--helper", str(api.kubeconfig)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
            assert helper_proc.stdout is not None
            prom_url = helper_proc.stdout.readline().strip()

            client = CountingClient(KubeConfig.load(str(api.kubeconfig)))
            lateness: list[float] = []
            ticks = [0]
            measuring = threading.Event()

            def on_tick(key: str, late: float, result: object) -> None:
                if measuring.is_set():
                    lateness.append(late)
                    ticks[0] += 1

            ctl = FlaggerController(client, Clock(0.1), NS, metrics_override=prom_url,
                                    on_tick=on_tick)
            t = threading.Thread(target=ctl.run, args=(stop,), daemon=True)
            t.start()

            def phases() -> list[str]:
                return [(x.get("status") or {}).get("phase", "")
                        for x in c.items("flagger.app/v1beta1", "Canary", NS)]

            end = time.monotonic() + 60
            while time.monotonic() < end and phases().count("Initialized") < n:
                time.sleep(0.2)
            print(f"{phases().count('Initialized')}/{n} canaries initialized")
            for i in range(n):
                def bump(i: int = i) -> dict:
                    dep = c.get("apps/v1", "Deployment", f"app{i}", NS)
                    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "img:2"
                    return c.update(dep)

                retry_on_conflict(bump)
            end = time.monotonic() + 30
            while time.monotonic() < end and phases().count("Progressing") < n:
                time.sleep(0.2)
            time.sleep(2.5)  # every canary past its first analysis tick
            cpu0, req0, wall0 = time.process_time(), client.requests, time.monotonic()
            measuring.set()
            time.sleep(seconds)
            measuring.clear()
            cpu = time.process_time() - cpu0
            wall = time.monotonic() - wall0
            reqs = client.requests - req0
            stop.set()
            t.join(10)
            n_t = max(1, ticks[0])
            lat = sorted(lateness) or [0.0]
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(f"controller: {n} canaries, {ticks[0]} ticks in {wall:.1f}s "
                  f"({ticks[0] / wall:.1f}/s, ideal {n:.0f}/s)")
            print(f"  engine CPU share {cpu / wall * 100:.1f}% of one core; "
                  f"{cpu / n_t * 1000:.2f} ms CPU per tick")
            print(f"  API requests per tick {reqs / n_t:.1f}")
            print(f"  tick lateness p50 {statistics.median(lat) * 1000:.1f} ms, "
                  f"p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
            print(f"  phases at end: { {p: phases().count(p) for p in set(phases())} }")
        finally:
            stop.set()
            if helper_proc is not None:
                helper_proc.stdin.close()  # type: ignore[union-attr]
                helper_proc.terminate()
                helper_proc.wait(5)
            api.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--canaries", type=int, default=50)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--pure-ticks", type=int, default=20000)
    p.add_argument("--helper", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.helper:
        return helper(args.helper)
    logging.basicConfig(level=logging.WARNING)
    pure_engine(args.pure_ticks)
    controller_bench(args.canaries, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
