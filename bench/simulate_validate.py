"""Does the simulator agree with the sandbox? N sandbox rollouts of the seed's Canary against
1000 simulated ones, for a healthy release and a podinfo ``--random-error`` release.

Run under the shared lock (it starts one sandbox and runs 2 x N rollouts on it)::

    flock /tmp/canary-heavy.lock .venv/bin/python bench/simulate_validate.py --runs 20

The sandbox runs are a generated feature (the steps of features/rollback.feature and
features/flagger_canary.feature, one Scenario Outline row per run); their recorded timelines
give the time to verdict (rounded to whole 10s ticks: the rest is wall-clock jitter), the
failed-check count and the first check's outcome. The simulator
gets each run's measured gap between initialization and the new revision (the old pods' series
still count in the first minute, see docs/simulate.md). Prints quantiles side by side, the
two-sample Kolmogorov-Smirnov statistic with its asymptotic p-value, and the first-check pass
share with 95 % intervals. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from canary.harness.timeline import Timeline
from canary.simulate.flagger_run import Outcome, plan_flagger, run_flagger
from canary.simulate.manifests import load
from canary.simulate.replay import read
from canary.simulate.stats import quantile, wilson
from canary.simulate.traffic import TrafficModel, VersionModel

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures" / "manifests" / "podinfo-canary.yaml"
TICK = 10.0  # the seed's analysis interval

# A step only this bench needs: the scrape times of the canary's series, to give the model the
# same scrape phase (relative to the engine's ticks) as the sandbox run had.
CONFTEST = """\
import json, time
from pathlib import Path
import requests
from pytest_bdd import then
from canary.harness.report import slug

@then("the bench records the scrape times")
def record_scrapes(canary_scenario, request):
    url = canary_scenario.env.prometheus_url()
    q = 'response_total{namespace="test",deployment="podinfo",direction="inbound"}[30s]'
    res = requests.get(url + "/api/v1/query", params={"query": q, "time": time.time()},
                       timeout=10).json()["data"]["result"]
    times = sorted({float(t) for r in res for t, _ in r["values"]})
    out = Path(request.config.getoption("report_dir")) / "scrapes"
    out.mkdir(parents=True, exist_ok=True)
    (out / (slug(request.node.nodeid) + ".json")).write_text(json.dumps(times))
"""

FEATURE = """\
Feature: simulator validation runs
  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And I apply the manifest "podinfo-canary.yaml"
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"

  Scenario Outline: random-error run <run>
    When I start a new revision of deployment "podinfo" in namespace "test" with image \
"quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-error" flag
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the bench records the scrape times

    Examples:
{rows}

  Scenario Outline: healthy run <run>
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/\
podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the bench records the scrape times

    Examples:
{rows}
"""


def run_sandbox(n: int, report_dir: Path) -> None:
    rows = "      | run |\n" + "".join(f"      | {i} |\n" for i in range(1, n + 1))
    with tempfile.TemporaryDirectory(prefix="simulate-validate-") as d:
        f = Path(d) / "validate.feature"
        f.write_text(FEATURE.replace("{rows}", rows.rstrip("\n")))
        (Path(d) / "conftest.py").write_text(CONFTEST)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(f),
               "--report-dir", str(report_dir), "--rootdir", d]
        print("running", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=False)


def scrape_phase(path: Path, tl: Timeline, start: float) -> float | None:
    """Median spec seconds from an engine tick to the next scrape, from the recorded scrapes."""
    f = path.parent.parent / "scrapes" / path.name
    if not f.is_file():
        return None
    times = json.loads(f.read_text())
    if not times:
        return None
    phases = sorted(tl.spec_seconds(t - start) % TICK for t in times)
    return phases[len(phases) // 2]


def sandbox_outcome(path: Path) -> tuple[Outcome, float, float | None] | None:
    tl = Timeline.load(path)
    rec = read(tl, "test", "podinfo")
    evs = [e for e in tl.of("event", namespace="test") if e.get("object") == "Canary/podinfo"]
    start = next(e["t"] for e in evs if e["message"].startswith("New revision detected"))
    init = [e["t"] for e in evs if e["message"].startswith("Initialization done") and
            e["t"] < start]
    end = next((e["t"] for e in evs if e["t"] > start and e["message"].startswith(
        ("Promotion completed", "Canary failed!"))), None)
    if end is None or not init:
        return None
    first = rec.checks[0] if rec.checks else None
    valued = next((c for c in rec.checks if c.ok or c.value is not None), None)
    # the engine ticks every interval (10s); what is left is wall-clock jitter of the run
    ticks = round(tl.spec_seconds(end - start) / TICK)
    out = Outcome(rec.verdict, ticks * TICK,
                  failed_checks=sum(not c.ok for c in rec.checks),
                  first_check="" if first is None else "pass" if first.ok else (
                      "fail" if first.value is not None else "no values"),
                  first_value_check="" if valued is None else "pass" if valued.ok else "fail")
    return out, tl.spec_seconds(start - init[-1]), scrape_phase(path, tl, start)


def ks(a: list[float], b: list[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov D and its asymptotic p-value."""
    xs = sorted(set(a) | set(b))
    d = max(abs(sum(v <= x for v in a) / len(a) - sum(v <= x for v in b) / len(b)) for x in xs)
    ne = len(a) * len(b) / (len(a) + len(b))
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    if lam < 0.2:
        return d, 1.0  # the series does not converge there; the distributions agree
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, max(0.0, min(1.0, p))


Run = tuple[Outcome, float, float | None]  # outcome, init-to-revision gap, scrape phase


def compare(label: str, sandbox: list[Run], model: VersionModel, sims: int, seed: int,
            phase: float | None) -> None:
    """Each simulated rollout copies the conditions of a randomly chosen sandbox run."""
    m = load([SEED])
    plan = plan_flagger(m.canaries[0][0], m.templates)
    rng = random.Random(seed)
    gaps = [g for _, g, _ in sandbox]
    measured = [p for _, _, p in sandbox if p is not None]
    sim = []
    for _ in range(sims):
        _, gap, ph = rng.choice(sandbox)
        ph = phase if phase is not None else ph
        sim.append(run_flagger(plan, TrafficModel(canary=model, scrape_phase=ph), rng, gap))
    box = [o for o, _, _ in sandbox]
    if phase is None and measured:
        print(f"\nmeasured scrape phases (s after the tick): "
              f"{', '.join(f'{p:.1f}' for p in sorted(measured))}")
    how = (f"{phase:g}s after the tick" if phase is not None else
           "as measured per run" if measured else "random")
    print(f"\n== {label}: {len(box)} sandbox runs, {sims} simulated "
          f"(initialization-to-revision gaps {min(gaps):.0f}-{max(gaps):.0f}s, scrape phase "
          f"{how})")
    for what, get in (("time to verdict (s)", lambda o: o.seconds),
                      ("failed checks", lambda o: float(o.failed_checks))):
        a, b = [get(o) for o in box], [get(o) for o in sim]
        qs = "  ".join(f"p{int(q * 100)} {quantile(a, q):g}/{quantile(b, q):g}"
                       for q in (0.05, 0.25, 0.5, 0.75, 0.95))
        d, p = ks(a, b)
        print(f"{what:20s} sandbox/sim  {qs}   KS D={d:.2f} p={p:.2f}")
    for what, attr in (("first check", "first_check"), ("first valued check",
                                                         "first_value_check")):
        for name, outs in (("sandbox", box), ("sim", sim)):
            vals = [getattr(o, attr) for o in outs if getattr(o, attr)]
            k = vals.count("pass")
            lo, hi = wilson(k, len(vals))
            print(f"{what} passes ({name}): {k}/{len(vals)} "
                  f"({k / max(1, len(vals)):.1%}, 95% CI {lo:.1%}-{hi:.1%})")
    print("verdicts sandbox:", {v: sum(o.verdict == v for o in box) for v in
                                {o.verdict for o in box}},
          " sim:", {v: sum(o.verdict == v for o in sim) for v in {o.verdict for o in sim}})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="sandbox rollouts per release kind")
    p.add_argument("--sims", type=int, default=1000, help="simulated rollouts per kind")
    p.add_argument("--report-dir", default=None,
                   help="reuse (or keep) the sandbox runs' reports here")
    p.add_argument("--no-sandbox", action="store_true",
                   help="only analyse the timelines already in --report-dir")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scrape-phase", type=float, default=None,
                   help="scrapes this many spec seconds after each engine tick (default: as "
                        "measured in each sandbox run, else random as on a cluster)")
    args = p.parse_args(argv)
    report = Path(args.report_dir or tempfile.mkdtemp(prefix="simulate-validate-reports-"))
    if not args.no_sandbox:
        run_sandbox(args.runs, report)
    runs: dict[str, list[Run]] = {"random-error": [], "healthy": []}
    for f in sorted((report / "timelines").glob("*.json")):
        kind = "random-error" if "randomerror" in f.name else "healthy"
        got = sandbox_outcome(f)
        if got is not None:
            runs[kind].append(got)
    if not any(runs.values()):
        print(f"no finished sandbox rollouts in {report}/timelines", file=sys.stderr)
        return 1
    if runs["healthy"]:
        compare("healthy release", runs["healthy"], VersionModel(), args.sims, args.seed,
                args.scrape_phase)
    if runs["random-error"]:
        compare("podinfo --random-error", runs["random-error"],
                VersionModel(random_error=True), args.sims, args.seed + 1, args.scrape_phase)
    print(f"\nsandbox timelines: {report}/timelines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
