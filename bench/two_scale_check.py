"""Two-scale check: the same scenarios at two time scales must reach the same verdicts.

Run (heavy: it starts a sandbox per scale; on a shared machine wrap it in the lock):
    flock /tmp/canary-heavy.lock .venv/bin/python bench/two_scale_check.py [--scales 0.05,0.25]

Runs the promotion (features/flagger_canary.feature), the error-rate and the latency rollbacks
(bench/features/two_scale.feature: the fault load, /status/500 or /delay/1, runs before the
release, so every check of the canary sees it) and, for information, the --random-delay rollback
of features/latency.feature, with pytest at each scale (``--time-scale``). It reads each
scenario's recorded timeline and prints a table: verdict (test outcome and final phase), the
canary weight sequence of the HTTPRoute, and the Canary's events from "New revision detected!"
on (measured values such as ``4939.04`` shown as ``#``, repeats collapsed as ``xN``). The last
column says whether all scales agree. Exit status 1 when verdicts or weight sequences of the
gating scenarios differ. podinfo's --random-delay draws by the clock, so whether its first check
happens to pass varies from run to run at any scale: that row informs, it does not gate. A check
to run by hand, not part of the suite.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from canary.harness.report import slug
from canary.harness.timeline import Timeline, events_for, phase_changes, route_canary_weights

ROOT = Path(__file__).resolve().parents[1]
# (name, pytest node id, gates the exit status)
SCENARIOS = [
    ("promotion", "features/flagger_canary.feature::"
                  "test_a_new_image_is_promoted_through_every_weight_step", True),
    ("error-rate rollback", "bench/features/two_scale.feature::"
                            "test_errorrate_rollback_with_status500_load_already_running", True),
    ("latency rollback", "bench/features/two_scale.feature::"
                         "test_latency_rollback_with_delay1_load_already_running", True),
    ("--random-delay rollback", "features/latency.feature::"
                                "test_the_new_revision_runs_podinfo_with_randomdelay", False),
]
CANARY, NS, ROUTE = "podinfo", "test", "podinfo"
_MEASURED = re.compile(r"\d+\.\d+")


def run_scale(scale: float, out: Path, timeout: float) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--time-scale",
           str(scale), "--report-dir", str(out), *(node for _, node, _ in SCENARIOS)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    (out / "pytest.log").write_text(p.stdout + p.stderr)
    return time.monotonic() - t0, p.returncode


def outcomes(junit: Path) -> dict[str, str]:
    """test name -> passed/failed/error/skipped from pytest's JUnit XML."""
    res: dict[str, str] = {}
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return res
    for case in root.iter("testcase"):
        state = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                state = "failed" if tag == "failure" else tag
        res[case.get("name", "")] = state
    return res


def summarize(tl: Timeline | None, outcome: str) -> dict[str, str]:
    if tl is None:
        return {"verdict": f"{outcome}/no timeline", "weights": "-", "events": "-",
                "events_key": "-"}
    changes = phase_changes(tl, CANARY, NS)
    starts = [t for t, p in changes if p == "Progressing"]
    since = starts[0] if starts else None
    weights: list[int] = []
    for _, w in route_canary_weights(tl, ROUTE, NS, since=since):
        if not weights or weights[-1] != w:
            weights.append(w)
    runs: list[list] = []  # [message, count]
    msgs = [e.get("message") or "" for e in events_for(tl, f"Canary/{CANARY}", NS)]
    first = next((i for i, m in enumerate(msgs) if m.startswith("New revision detected!")), 0)
    for raw in msgs[first:]:
        msg = _MEASURED.sub("#", raw)
        if runs and runs[-1][0] == msg:
            runs[-1][1] += 1
        else:
            runs.append([msg, 1])
    events = "; ".join(m if n == 1 else f"{m} x{n}" for m, n in runs)
    final = changes[-1][1] if changes else "?"
    return {"verdict": f"{outcome}/{final}", "weights": ",".join(map(str, weights)),
            "events": events, "events_key": "; ".join(m for m, _ in runs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.05,0.25", help="comma-separated time scales")
    ap.add_argument("--timeout", type=float, default=900, help="wall seconds per scale")
    ap.add_argument("--out", default=str(ROOT / "reports" / "two-scale"),
                    help="where each scale's reports, timelines and pytest log are kept")
    args = ap.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    rows: dict[str, dict[float, dict[str, str]]] = {name: {} for name, _, _ in SCENARIOS}
    for scale in scales:
        out = Path(args.out) / f"scale-{scale:g}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        took, rc = run_scale(scale, out, args.timeout)
        print(f"# scale {scale:g}: pytest exit {rc} in {took:.0f}s wall", flush=True)
        if rc not in (0, 1):
            print((out / "pytest.log").read_text()[-3000:], file=sys.stderr)
        states = outcomes(out / "junit.xml")
        for name, node, _ in SCENARIOS:
            test = node.split("::", 1)[1]
            path = out / "timelines" / f"{slug(node)}.json"
            tl = Timeline.load(path) if path.exists() else None
            rows[name][scale] = summarize(tl, states.get(test, "not run"))
    ok = True
    print()
    print(f"| scenario | what | {' | '.join(f'scale {s:g}' for s in scales)} | same |")
    print(f"|---|---|{'---|' * len(scales)}---|")
    for name, _, gates in SCENARIOS:
        for what, key in (("verdict", "verdict"), ("weights", "weights"),
                          ("events", "events_key")):
            values = [rows[name][s][key] for s in scales]
            same = len(set(values)) == 1
            if gates and what != "events" and not same:
                ok = False
            shown = [rows[name][s]["events"] if what == "events" else v
                     for s, v in zip(scales, values, strict=True)]
            print(f"| {name} | {what} | {' | '.join(shown)} | {'yes' if same else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
