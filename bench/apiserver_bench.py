"""Sandbox API server throughput and watch latency (prints figures; not a pass/fail test).

    .venv/bin/python bench/apiserver_bench.py [--seconds 4] [--watchers 50] [--threads 8]

Starts its own server in a temporary directory, then measures sustained GET and PATCH
operations per second from concurrent clients, and how long a change takes to reach each of
50 concurrent watchers (p50/p99), while the writes are fsynced to the write-ahead log.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


def start_server(directory: str, token: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, "-m", "canary.sandbox.apiserver", "--dir", directory,
                             "--port", "0", "--token", token, "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, line.split()[-1]


def run_for(seconds: float, threads: int, op) -> float:
    """Ops/s of ``op(session, i)`` from ``threads`` clients over ``seconds``."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        s = requests.Session()
        i = 0
        while time.monotonic() < stop:
            op(s, n, i)
            i += 1
        counts[n] = i

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=4.0, help="length of each phase")
    p.add_argument("--watchers", type=int, default=50)
    p.add_argument("--threads", type=int, default=8, help="concurrent GET/PATCH clients")
    args = p.parse_args()
    token = secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="apiserver-bench-") as d:
        proc, url = start_server(d, token)
        try:
            return bench(url, token, args)
        finally:
            proc.terminate()
            proc.wait(10)


def bench(url: str, token: str, args: argparse.Namespace) -> int:
    h = {"Authorization": f"Bearer {token}"}
    patch_h = {**h, "Content-Type": "application/merge-patch+json"}
    base = f"{url}/api/v1/namespaces/default/configmaps"
    for n in range(args.threads):
        requests.post(base, json={"metadata": {"name": f"cm-{n}"}, "data": {"i": "0"}},
                      headers=h, timeout=10).raise_for_status()

    def get(s: requests.Session, n: int, i: int) -> None:
        s.get(f"{base}/cm-{n}", headers=h, timeout=10).raise_for_status()

    def patch(s: requests.Session, n: int, i: int) -> None:
        s.patch(f"{base}/cm-{n}", data=json.dumps({"data": {"i": str(i)}}), headers=patch_h,
                timeout=10).raise_for_status()

    get_rate = run_for(args.seconds, args.threads, get)
    patch_rate = run_for(args.seconds, args.threads, patch)
    print(f"GET   {get_rate:8.0f} ops/s  ({args.threads} clients)")
    print(f"PATCH {patch_rate:8.0f} ops/s  ({args.threads} clients, fsync per write)")

    # -- watch delivery latency ------------------------------------------------------------
    requests.post(base, json={"metadata": {"name": "watched"}}, headers=h,
                  timeout=10).raise_for_status()
    rv0 = requests.get(base, headers=h, timeout=10).json()["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(args.watchers + 1)
    total = max(50, int(args.seconds * 50))

    def watcher() -> None:
        r = requests.get(base, params={"watch": "true", "resourceVersion": rv0,
                                       "fieldSelector": "metadata.name=watched",
                                       "timeoutSeconds": str(int(args.seconds * 4) + 10)},
                         headers=h, stream=True, timeout=60)
        ready.wait()
        got = 0
        for line in r.iter_lines():
            if not line:
                continue
            now = time.perf_counter()
            ev = json.loads(line)
            stamp = ev["object"]["metadata"].get("annotations", {}).get("sent")
            if stamp in sent:
                with lock:
                    latencies.append(now - sent[stamp])
                got += 1
                if got == total:
                    break
        r.close()

    ts = [threading.Thread(target=watcher, daemon=True) for _ in range(args.watchers)]
    for t in ts:
        t.start()
    ready.wait()
    time.sleep(0.2)  # let every stream reach the server's live phase
    s = requests.Session()
    for i in range(total):
        stamp = str(i)
        sent[stamp] = time.perf_counter()
        s.patch(f"{base}/watched", data=json.dumps({"metadata": {"annotations": {"sent": stamp}}}),
                headers=patch_h, timeout=10).raise_for_status()
        time.sleep(0.02)
    for t in ts:
        t.join(30)
    if not latencies:
        print("watch: no events delivered")
        return 1
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    delivered = len(latencies) / (total * args.watchers)
    print(f"WATCH latency p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
          f"({args.watchers} watchers, {total} changes, {delivered:.0%} delivered)")
    print(f"(cpu count {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
