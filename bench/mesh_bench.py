"""Mesh overhead: requests/s through the mesh and the latency it adds over calling a pod directly.

Starts the sandbox API server and the mesh as processes (temp dir), one backend process on a pod
address, and a meshed client pod address with an HTTPRoute attached (so the route, the weighted
choice and both metric sides are on the path). Prints figures and ratios; bounded to ~10 s.

    .venv/bin/python bench/mesh_bench.py [--seconds 2] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mesh_backends import random_net  # noqa: E402
from mesh_objects import endpoints, httproute, namespace, pod, service  # noqa: E402
from mesh_stack import Stack  # noqa: E402

BACKEND = """
import sys, time
sys.path[:0] = {paths!r}
from mesh_backends import Backend
b = Backend("bench", {ip!r})
print(b.port, flush=True)
time.sleep(3600)
"""


def latencies(ip: str, port: int, source: str, seconds: float) -> list[float]:
    conn = http.client.HTTPConnection(ip, port, timeout=10, source_address=(source, 0))
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        conn.request("GET", "/")
        r = conn.getresponse()
        r.read()
        out.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, r.status
    conn.close()
    return out


def throughput(ip: str, port: int, source: str, seconds: float, concurrency: int) -> float:
    counts = [0] * concurrency

    def worker(i: int) -> None:
        counts[i] = len(latencies(ip, port, source, seconds))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.5, help="per measurement (4 of them)")
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    pods_net, _ = random_net()
    backend_ip, client_ip = pods_net + "1", pods_net + "2"
    with tempfile.TemporaryDirectory(prefix="mesh-bench-") as tmp:
        stack = Stack(Path(tmp))
        backend = subprocess.Popen(
            [sys.executable, "-c", BACKEND.format(paths=sys.path[:2], ip=backend_ip)],
            stdout=subprocess.PIPE, text=True)
        try:
            backend_port = int(backend.stdout.readline())
            client = stack.start_apiserver()
            stack.install_httproute_crd()
            stack.start_mesh()
            client.create(namespace("test", meshed=True))
            b_pod = pod("podinfo-1", backend_ip, None, port=backend_port)
            c_pod = pod("load-1", client_ip, None)
            for p in (b_pod, c_pod):
                created = client.create({k: v for k, v in p.items() if k != "status"})
                created["status"] = p["status"]
                client.update_status(created)
            ips = {}
            for name in ("podinfo", "podinfo-primary", "podinfo-canary"):
                svc = service(name, "", 9898, backend_port)
                del svc["spec"]["clusterIP"]
                ips[name] = client.create(svc)["spec"]["clusterIP"]
                client.create(endpoints(name, [b_pod], backend_port))
            client.create(httproute(50, 50))
            deadline = time.monotonic() + 10
            while not stack.listening(ips["podinfo"], 9898):
                if time.monotonic() > deadline:
                    raise SystemExit("mesh did not listen on the Service address")
                time.sleep(0.05)
            latencies(ips["podinfo"], 9898, client_ip, 0.3)  # warm-up
            direct = latencies(backend_ip, backend_port, client_ip, args.seconds)
            meshed = latencies(ips["podinfo"], 9898, client_ip, args.seconds)
            rps_direct = throughput(backend_ip, backend_port, client_ip, args.seconds,
                                    args.concurrency)
            rps_mesh = throughput(ips["podinfo"], 9898, client_ip, args.seconds,
                                  args.concurrency)
        finally:
            stack.stop()
            backend.terminate()
            backend.wait(5)
    d50, d99 = pct(direct, 0.5), pct(direct, 0.99)
    m50, m99 = pct(meshed, 0.5), pct(meshed, 0.99)
    print("mesh benchmark (sequential keep-alive GET /, then "
          f"{args.concurrency} concurrent clients)")
    print(f"  direct to pod : p50 {d50:7.3f} ms  p99 {d99:7.3f} ms  "
          f"mean {statistics.mean(direct):7.3f} ms  {rps_direct:8.0f} req/s")
    print(f"  through mesh  : p50 {m50:7.3f} ms  p99 {m99:7.3f} ms  "
          f"mean {statistics.mean(meshed):7.3f} ms  {rps_mesh:8.0f} req/s")
    print(f"  added latency : p50 +{m50 - d50:.3f} ms  p99 +{m99 - d99:.3f} ms")
    print(f"  ratios        : p50 x{m50 / d50:.2f}  p99 x{m99 / d99:.2f}  "
          f"throughput x{rps_mesh / rps_direct:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
