"""Canary engine cost (prints figures; not a pass/fail test).

    .venv/bin/python bench/engine_bench.py [--canaries 100] [--interval 1] [--workload both]
        [--variants cached,baseline] [--pure-ticks 20000]
    .venv/bin/python bench/engine_bench.py --acceptance   # 100 at 1 s, then 1000 at 10 s
    .venv/bin/python bench/engine_bench.py --controller argo [--rollouts 100] [--interval 1]

1. The pure Flagger decision function: CPU microseconds per tick over whole rollouts.
2. The real controller against a sandbox API server (separate process), with a readiness
   simulator and a Prometheus stand-in in a helper process: N canaries each ticking every
   ``--interval`` wall seconds (analysis.interval 10s at time scale interval/10). Each variant
   runs in a process of its own with a fresh API server: ``cached`` (the engine as shipped:
   watch-backed reads, canary/kube/cache.py) and ``baseline`` (--no-cache: every read from the
   API, the read path before the caches). Two workloads are measured per variant:
   ``steady`` (every canary initialized, waiting for a new revision: what most canaries of a
   cluster do) and ``progressing`` (every canary mid-analysis, advancing one weight step per
   tick, which writes the route, the status and an Event each tick). Reported: the engine's
   CPU share of one core, API requests per tick (by verb), tick lateness p50/p99 (start time
   minus due time), resident memory per canary; then cached/baseline ratios.
3. ``--controller argo``: N Rollouts (basic canary, setWeight 10..90 with a pause of one
   interval between steps, an instant kubelet for their ReplicaSets) under the Rollout loop with
   the caches: ``steady`` (every Rollout Healthy) and ``progressing`` (every Rollout moving one
   step per interval). Reported: CPU share, reconciles and API requests per Rollout per
   interval; a loop that reconciled every Rollout on every event would show N reconciles.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support.flagger_sandbox import ApiServer, FakePrometheus, ReadinessSimulator  # noqa: E402
from support.flagger_world import World  # noqa: E402

from canary.clock import Clock  # noqa: E402
from canary.controller.argo_loop import RolloutController  # noqa: E402
from canary.controller.flagger_loop import FlaggerController  # noqa: E402
from canary.kube.cache import CachedClient, copy_obj  # noqa: E402
from canary.kube.client import KubeClient, KubeConfig, request_verb, retry_on_conflict  # noqa: E402,E501
from canary.kube.informer import Informer  # noqa: E402

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
    """Counts every request by (verb, resource), as the engine's /metrics does."""

    def __init__(self, config: KubeConfig) -> None:
        super().__init__(config)
        self.by_verb: Counter[tuple[str, str]] = Counter()
        self._count_lock = threading.Lock()

    @property
    def requests(self) -> int:
        with self._count_lock:
            return sum(self.by_verb.values())

    def request(self, method, path, **kw):  # type: ignore[no-untyped-def]
        verb = request_verb(method, path, kw.get("params"))
        with self._count_lock:
            self.by_verb[verb] += 1
        return super().request(method, path, **kw)


class WatchingReadiness(ReadinessSimulator):
    """The readiness simulator driven by a Deployment watch instead of a list every 30 ms
    (which would load the API server more than the engine does at 1000 canaries)."""

    def run(self) -> None:
        inf = Informer(self.client, "apps/v1", "Deployment", self.stop_event, self.namespace)
        inf.add_handler(lambda typ, obj, _old: typ != "DELETED" and self._mark(copy_obj(obj)))
        inf.start()
        self.stop_event.wait()


def helper(kubeconfig: str) -> int:
    """Readiness simulator + Prometheus stand-in, run in their own process."""
    client = KubeClient(KubeConfig.load(kubeconfig))
    prom = FakePrometheus()
    sim = WatchingReadiness(client, NS)
    sim.start()
    print(prom.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    return 0


def proc_cpu(pid: int | None) -> float:
    """CPU seconds a process has used (the API server's, to tell its load from ours)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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


def new_image(client: KubeClient, api_version: str, kind: str, names: list[str]) -> None:
    """A new revision of each workload (its container's image), as ``kubectl set image``."""
    for name in names:
        def bump(name: str = name) -> dict:
            obj = client.get(api_version, kind, name, NS)
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = "img:2"
            return client.update(obj)

        retry_on_conflict(bump)


def phase_counts(client: KubeClient, api_version: str, kind: str) -> Counter[str]:
    return Counter((x.get("status") or {}).get("phase", "")
                   for x in client.items(api_version, kind, NS))


def wait_for_phase(phases: Callable[[], Counter[str]], phase: str, n: int,
                   timeout: float) -> None:
    """Until ``n`` objects are in ``phase`` or ``timeout`` wall seconds passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and phases()[phase] < n:
        time.sleep(0.5)


class Window:
    """Engine CPU, requests and tick lateness over one measured window."""

    def __init__(self, client: CountingClient, apiserver_pid: int | None = None) -> None:
        self.client = client
        self.apiserver_pid = apiserver_pid
        self.lateness: list[float] = []
        self.on = threading.Event()

    def on_tick(self, key: str, late: float, result: object) -> None:
        if self.on.is_set():
            self.lateness.append(late)

    def measure(self, seconds: float, n: int) -> dict:
        self.lateness.clear()
        before = Counter(self.client.by_verb)
        cpu0, wall0 = time.process_time(), time.monotonic()
        api0 = proc_cpu(self.apiserver_pid)
        self.on.set()
        time.sleep(seconds)
        self.on.clear()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        api_cpu = proc_cpu(self.apiserver_pid) - api0
        verbs = Counter(self.client.by_verb)
        verbs.subtract(before)
        ticks = max(1, len(self.lateness))
        lat = sorted(self.lateness) or [0.0]
        return {"ticks": len(self.lateness), "wall": wall, "ideal_ticks": n,
                "cpu_share": cpu / wall, "cpu_per_tick_ms": cpu / ticks * 1000,
                "apiserver_cpu_share": api_cpu / wall,
                "requests_per_tick": sum(verbs.values()) / ticks,
                "by_verb": {f"{v} {r}": c / ticks for (v, r), c in verbs.most_common()
                            if c > 0},
                "lateness_p50_ms": statistics.median(lat) * 1000,
                "lateness_p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
                "lateness_max_ms": lat[-1] * 1000}


def variant(n: int, interval: float, variant_name: str, workloads: list[str],
            seconds: float) -> dict:
    """One variant (cached or baseline) in this process; returns its figures."""
    out: dict = {"variant": variant_name, "canaries": n, "interval": interval}
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

            counting = CountingClient(KubeConfig.load(str(api.kubeconfig)))
            client: KubeClient = counting
            rss0 = rss_bytes()
            if variant_name == "cached":
                client = CachedClient(counting, stop, NS)
            window = Window(counting, api.proc.pid if api.proc else None)
            ctl = FlaggerController(client, Clock(interval / 10), NS, metrics_override=prom_url,
                                    on_tick=window.on_tick)
            t = threading.Thread(target=ctl.run, args=(stop,), daemon=True)
            t.start()

            def phases() -> Counter[str]:
                return phase_counts(c, "flagger.app/v1beta1", "Canary")

            def until(phase: str, timeout: float) -> None:
                wait_for_phase(phases, phase, n, timeout)

            until("Initialized", 60 + n * 0.2)
            out["initialized"] = phases()["Initialized"]
            time.sleep(interval * 1.5)  # every canary past a tick with nothing to do
            if "steady" in workloads:
                out["steady"] = window.measure(seconds, n * seconds / interval)
            if "progressing" in workloads:
                new_image(c, "apps/v1", "Deployment", [f"app{i}" for i in range(n)])
                until("Progressing", 30 + n * 0.1 + interval * 3)
                time.sleep(interval * 2.5)  # every canary past its first analysis tick
                out["progressing"] = window.measure(seconds, n * seconds / interval)
                out["progressing"]["phases"] = dict(phases())
            out["rss_per_canary_kb"] = (rss_bytes() - rss0) / n / 1024
            stop.set()
            t.join(10)
        finally:
            stop.set()
            if helper_proc is not None:
                helper_proc.stdin.close()  # type: ignore[union-attr]
                helper_proc.terminate()
                helper_proc.wait(5)
            api.stop()
    return out


def rollout(i: int) -> dict:
    steps: list[dict] = []
    for w in range(10, 100, 10):
        steps += [{"setWeight": w}, {"pause": {"duration": "10s"}}]
    labels = {"app": f"ro{i}"}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": f"ro{i}", "namespace": NS},
            "spec": {"replicas": 10, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "img:1"}]}},
                     "strategy": {"canary": {"steps": steps}}}}


class InstantKubelet(threading.Thread):
    """Every ReplicaSet's pods ready at once, from a ReplicaSet watch."""

    def __init__(self, client: KubeClient, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client, self.stop_event = client, stop

    def run(self) -> None:
        def ready(typ: str, rs: dict, _old: object) -> None:
            n = rs["spec"].get("replicas", 1)
            st = rs.get("status") or {}
            if typ == "DELETED" or (st.get("availableReplicas") == n and st.get("replicas") == n):
                return
            rs = copy_obj(rs)
            rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n,
                            "observedGeneration": rs["metadata"].get("generation")}
            try:
                self.client.update_status(rs)
            except Exception:  # noqa: BLE001,S110 - a newer version follows on the watch
                pass

        inf = Informer(self.client, "apps/v1", "ReplicaSet", self.stop_event, NS)
        inf.add_handler(ready)
        inf.start()
        self.stop_event.wait()


def argo_variant(n: int, interval: float, workloads: list[str], seconds: float) -> dict:
    """The Rollout loop over ``n`` Rollouts, with the caches; returns its figures."""
    out: dict = {"variant": "argo", "canaries": n, "interval": interval}
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as d:
        api = ApiServer(Path(d))
        stop = threading.Event()
        try:
            c = api.client
            c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
            for i in range(n):
                c.create(rollout(i))
            InstantKubelet(KubeClient(KubeConfig.load(str(api.kubeconfig))), stop).start()
            counting = CountingClient(KubeConfig.load(str(api.kubeconfig)))
            rss0 = rss_bytes()
            ctl = RolloutController(CachedClient(counting, stop, NS), Clock(interval / 10), NS,
                                    logging.getLogger("bench.argo"))
            reconciles = [0]
            one = ctl.reconcile

            def counted(*a, **kw):  # type: ignore[no-untyped-def]
                reconciles[0] += 1
                return one(*a, **kw)

            ctl.reconcile = counted  # type: ignore[method-assign]
            threading.Thread(target=ctl.run, args=(stop,), daemon=True).start()

            def phases() -> Counter[str]:
                return phase_counts(c, "argoproj.io/v1alpha1", "Rollout")

            def until(phase: str, timeout: float) -> None:
                wait_for_phase(phases, phase, n, timeout)

            def steps() -> int:
                return sum(int((x.get("status") or {}).get("currentStepIndex") or 0)
                           for x in c.items("argoproj.io/v1alpha1", "Rollout", NS))

            def measure() -> dict:
                s0 = steps()  # outside the CPU window: the bench's own reads
                before, r0 = Counter(counting.by_verb), reconciles[0]
                cpu0, wall0 = time.process_time(), time.monotonic()
                time.sleep(seconds)
                cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
                verbs = Counter(counting.by_verb)
                verbs.subtract(before)
                per = n * wall / interval  # Rollout-intervals in the window
                return {"wall": wall, "cpu_share": cpu / wall,
                        "steps_per_rollout_interval": (steps() - s0) / per,
                        "reconciles_per_rollout_interval": (reconciles[0] - r0) / per,
                        "requests_per_rollout_interval": sum(verbs.values()) / per,
                        "by_verb": {f"{v} {r}": k / per for (v, r), k in verbs.most_common()
                                    if k > 0}}

            until("Healthy", 60 + n * 0.2)
            out["initialized"] = phases()["Healthy"]
            time.sleep(interval * 1.5)
            if "steady" in workloads:
                out["steady"] = measure()
            if "progressing" in workloads:
                new_image(c, "argoproj.io/v1alpha1", "Rollout", [f"ro{i}" for i in range(n)])
                time.sleep(interval * 2.5)
                out["progressing"] = measure()
                out["progressing"]["phases"] = dict(phases())
            out["rss_per_canary_kb"] = (rss_bytes() - rss0) / n / 1024
        finally:
            stop.set()
            api.stop()
    return out


def show_argo(fig: dict) -> None:
    print(f"  Rollout loop: {fig['canaries']} Rollouts, one step every {fig['interval']:g}s, "
          f"{fig['initialized']} Healthy; RSS per Rollout {fig['rss_per_canary_kb']:.0f} KiB")
    for w in ("steady", "progressing"):
        if w in fig:
            m = fig[w]
            top = ", ".join(f"{k} {v:.2f}" for k, v in list(m["by_verb"].items())[:6])
            print(f"    {w:11s}: CPU {m['cpu_share'] * 100:.1f}% of one core, per Rollout per "
                  f"interval {m['steps_per_rollout_interval']:.2f} steps (2 at most), "
                  f"{m['reconciles_per_rollout_interval']:.2f} reconciles, "
                  f"{m['requests_per_rollout_interval']:.2f} API requests ({top or '-'})"
                  + (f"; phases {m['phases']}" if "phases" in m else ""))


def show(fig: dict) -> None:
    print(f"  {fig['variant']}: {fig['canaries']} canaries at {fig['interval']:g}s, "
          f"{fig['initialized']} initialized; RSS per canary {fig['rss_per_canary_kb']:.0f} KiB")
    for w in ("steady", "progressing"):
        if w not in fig:
            continue
        m = fig[w]
        print(f"    {w:11s}: {m['ticks']} ticks in {m['wall']:.1f}s (ideal {m['ideal_ticks']:.0f}),"
              f" CPU {m['cpu_share'] * 100:.1f}% of one core ({m['cpu_per_tick_ms']:.2f} ms/tick),"
              f" API requests/tick {m['requests_per_tick']:.2f}, lateness p50 "
              f"{m['lateness_p50_ms']:.1f} ms p99 {m['lateness_p99_ms']:.1f} ms "
              f"max {m['lateness_max_ms']:.1f} ms; the API server used "
              f"{m['apiserver_cpu_share'] * 100:.0f}% of a core")
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(m["by_verb"].items())[:8])
        print(f"                 requests/tick by verb: {top or '-'}")


def ratios(cached: dict, base: dict) -> None:
    def r(a: float, b: float) -> str:
        return f"{a / b:.3f}" if b else "-"

    print(f"  cached/baseline: RSS per canary "
          f"{r(cached['rss_per_canary_kb'], base['rss_per_canary_kb'])}")
    for w in ("steady", "progressing"):
        if w in cached and w in base:
            a, b = cached[w], base[w]
            print(f"    {w:11s}: CPU share {r(a['cpu_share'], b['cpu_share'])}, requests/tick "
                  f"{r(a['requests_per_tick'], b['requests_per_tick'])}, lateness p50 "
                  f"{r(a['lateness_p50_ms'], b['lateness_p50_ms'])} p99 "
                  f"{r(a['lateness_p99_ms'], b['lateness_p99_ms'])}")


def controller_bench(n: int, interval: float, variants: list[str], workloads: list[str],
                     seconds: float | None) -> None:
    secs = seconds or max(10.0, 3 * interval)
    figs: dict[str, dict] = {}
    for v in variants:
        proc = subprocess.run(
            [sys.executable, __file__, "--variant", v, "--canaries", str(n),
             "--interval", str(interval), "--seconds", str(secs),
             "--workload", ",".join(workloads)],
            capture_output=True, text=True, cwd=REPO)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(f"  {v}: failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
            continue
        figs[v] = json.loads(lines[-1])
        show(figs[v])
    if "cached" in figs and "baseline" in figs:
        ratios(figs["cached"], figs["baseline"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--canaries", "--rollouts", type=int, default=100)
    p.add_argument("--controller", choices=("flagger", "argo"), default="flagger")
    p.add_argument("--interval", type=float, default=1.0,
                   help="wall seconds between a canary's ticks (default 1)")
    p.add_argument("--seconds", type=float, default=None,
                   help="length of each measured window (default max(10, 3 x interval))")
    p.add_argument("--workload", default="steady,progressing")
    p.add_argument("--variants", default="cached,baseline")
    p.add_argument("--no-cache", action="store_true", help="only the baseline read path")
    p.add_argument("--acceptance", action="store_true",
                   help="100 canaries at 1 s, then 1000 at 10 s (the issue's two sizes)")
    p.add_argument("--pure-ticks", type=int, default=20000)
    p.add_argument("--helper", help=argparse.SUPPRESS)
    p.add_argument("--variant", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.helper:
        return helper(args.helper)
    logging.basicConfig(level=logging.WARNING)
    workloads = [w for w in args.workload.split(",") if w]
    if args.variant == "argo":
        print(json.dumps(argo_variant(args.canaries, args.interval, workloads,
                                      args.seconds or 10.0)), flush=True)
        return 0
    if args.variant:
        print(json.dumps(variant(args.canaries, args.interval, args.variant, workloads,
                                 args.seconds or 10.0)), flush=True)
        return 0
    if args.controller == "argo":
        secs = args.seconds or max(10.0, 3 * args.interval)
        print(f"Rollout loop: {args.canaries} Rollouts (time scale {args.interval / 10:g})",
              flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--variant", "argo", "--canaries", str(args.canaries),
             "--interval", str(args.interval), "--seconds", str(secs),
             "--workload", ",".join(workloads)], capture_output=True, text=True, cwd=REPO)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(f"  failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
            return 1
        show_argo(json.loads(lines[-1]))
        return 0
    variants = ["baseline"] if args.no_cache else [v for v in args.variants.split(",") if v]
    if args.pure_ticks:
        pure_engine(args.pure_ticks)
    sizes = [(100, 1.0), (1000, 10.0)] if args.acceptance else [(args.canaries, args.interval)]
    for n, interval in sizes:
        print(f"controller: {n} canaries, one tick each every {interval:g}s "
              f"(time scale {interval / 10:g})", flush=True)
        controller_bench(n, interval, variants, workloads, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
