"""Two-scale check: the same scenarios at two time scales must reach the same verdicts.

Run (heavy: it starts a sandbox per scale; on a shared machine wrap it in the lock):
    flock /tmp/canary-heavy.lock .venv/bin/python bench/two_scale_check.py [--scales 0.05,0.25]

Runs the promotion, the error-rate rollback and the latency rollback scenarios with pytest at
each scale (``--time-scale``), reads each scenario's recorded timeline (reports/timelines) and
prints a table: verdict (test outcome and final phase), the canary weight sequence of the
HTTPRoute, and the Canary's event sequence (measured values such as ``4939.04`` shown as ``#``,
repeats collapsed as ``xN``). The last column says whether all scales agree. Exit status 1 when
verdicts or weight sequences differ (event repeat counts may legitimately differ: the first
check can find no scraped answer yet). It is a check to run by hand, not part of the suite.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from canary.harness.report import slug
from canary.harness.timeline import Timeline, events_for, phase_changes, route_canary_weights

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [
    ("promotion", "features/flagger_canary.feature::"
                  "test_a_new_image_is_promoted_through_every_weight_step"),
    ("error-rate rollback", "features/rollback.feature::test_load_sent_to_status500_of_the_canary"),
    ("latency rollback", "features/latency.feature::"
                         "test_the_new_revision_runs_podinfo_with_randomdelay"),
]
CANARY, NS, ROUTE = "podinfo", "test", "podinfo"
_MEASURED = re.compile(r"\d+\.\d+")


def run_scale(scale: float, out: Path, timeout: float) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--time-scale",
           str(scale), "--report-dir", str(out), *(node for _, node in SCENARIOS)]
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
    for e in events_for(tl, f"Canary/{CANARY}", NS):
        if since is not None and e["t"] < since - 1:
            continue
        msg = _MEASURED.sub("#", e.get("message") or "")
        if runs and runs[-1][0] == msg:
            runs[-1][1] += 1
        else:
            runs.append([msg, 1])
    events = " | ".join(m if n == 1 else f"{m} x{n}" for m, n in runs)
    final = changes[-1][1] if changes else "?"
    return {"verdict": f"{outcome}/{final}", "weights": ",".join(map(str, weights)),
            "events": events, "events_key": " | ".join(m for m, _ in runs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.05,0.25", help="comma-separated time scales")
    ap.add_argument("--timeout", type=float, default=900, help="wall seconds per scale")
    args = ap.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    rows: dict[str, dict[float, dict[str, str]]] = {name: {} for name, _ in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="canary-two-scale-") as tmp:
        for scale in scales:
            out = Path(tmp) / f"scale-{scale:g}"
            out.mkdir()
            took, rc = run_scale(scale, out, args.timeout)
            print(f"# scale {scale:g}: pytest exit {rc} in {took:.0f}s wall", flush=True)
            if rc not in (0, 1):
                print((out / "pytest.log").read_text()[-3000:], file=sys.stderr)
            states = outcomes(out / "junit.xml")
            for name, node in SCENARIOS:
                test = node.split("::", 1)[1]
                path = out / "timelines" / f"{slug(node)}.json"
                tl = Timeline.load(path) if path.exists() else None
                rows[name][scale] = summarize(tl, states.get(test, "not run"))
    ok = True
    print()
    print(f"| scenario | what | {' | '.join(f'scale {s:g}' for s in scales)} | same |")
    print(f"|---|---|{'---|' * len(scales)}---|")
    for name, _ in SCENARIOS:
        for what, key in (("verdict", "verdict"), ("weights", "weights"),
                          ("events", "events_key")):
            values = [rows[name][s][key] for s in scales]
            same = len(set(values)) == 1
            if what != "events" and not same:
                ok = False
            shown = [rows[name][s]["events"] if what == "events" else v
                     for s, v in zip(scales, values, strict=True)]
            print(f"| {name} | {what} | {' | '.join(shown)} | {'yes' if same else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
