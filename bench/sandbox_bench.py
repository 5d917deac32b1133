"""Sandbox cold start: `Sandbox.start` to the seed's demo ready, in seconds.

Run: .venv/bin/python bench/sandbox_bench.py [--runs 3] [--time-scale 0.1]
Prints each phase's wall time and the median over the runs. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from canary.sandbox.manager import Sandbox

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"


def kubectl(sb: Sandbox, *args: str) -> None:
    subprocess.run(["kubectl", *args], check=True, capture_output=True, timeout=120,
                   env=dict(os.environ, KUBECONFIG=str(sb.kubeconfig)))


def one_run(scale: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="canary-bench-") as d:
        t0 = time.perf_counter()
        sb = Sandbox.start(Path(d) / "sb", time_scale=scale)
        t1 = time.perf_counter()
        try:
            kubectl(sb, "create", "ns", "test")
            kubectl(sb, "apply", "-f", str(MANIFESTS / "crds"))
            kubectl(sb, "-n", "test", "apply", "-f", str(MANIFESTS / "podinfo-demo.yaml"))
            for name in ("podinfo", "frontend", "load"):
                kubectl(sb, "-n", "test", "rollout", "status", f"deploy/{name}", "--timeout=120s")
            t2 = time.perf_counter()
        finally:
            sb.stop()
        t3 = time.perf_counter()
    return {"sandbox up": t1 - t0, "demo ready": t2 - t1, "total": t2 - t0, "down": t3 - t2}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--time-scale", type=float, default=0.1)
    args = p.parse_args()
    runs = [one_run(args.time_scale) for _ in range(args.runs)]
    print(f"sandbox cold start, {args.runs} runs, time scale {args.time_scale}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:<11} median {statistics.median(values):6.2f}s   "
              f"runs: {', '.join(f'{v:.2f}' for v in values)}")


if __name__ == "__main__":
    main()
