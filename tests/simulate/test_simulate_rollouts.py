"""Monte Carlo rollouts of the seed's Canary through the real engine code."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from canary.harness.expected import expected_weights
from canary.simulate.cli import main
from canary.simulate.flagger_run import plan_flagger, run_flagger
from canary.simulate.manifests import SimulationError, load
from canary.simulate.traffic import TrafficModel, VersionModel

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fixtures" / "manifests" / "podinfo-canary.yaml"


@pytest.fixture(scope="module")
def plan():
    m = load([SEED])
    return plan_flagger(m.canaries[0][0], m.templates)


def test_a_healthy_release_moves_through_the_weights_the_spec_declares(plan) -> None:
    canary = next(d for d in yaml.safe_load_all(SEED.read_text()) if d["kind"] == "Canary")
    want = list(expected_weights(canary).weights)
    rng = random.Random(7)
    outs = [run_flagger(plan, TrafficModel(), rng) for _ in range(50)]
    assert {o.verdict for o in outs} == {"promoted"}
    assert all(o.weights == want for o in outs)
    assert all(o.failed_requests == 0 for o in outs)


def test_a_release_failing_half_its_requests_is_never_promoted(plan) -> None:
    rng = random.Random(3)
    outs = [run_flagger(plan, TrafficModel(canary=VersionModel(0.5)), rng) for _ in range(200)]
    assert {o.verdict for o in outs} == {"rolled back"}
    # Flagger rolls back at the tick after the 5th failed check
    assert all(o.failed_checks == 5 for o in outs)
    assert all(o.failed_requests > 0 for o in outs)


def test_same_seed_same_figures(plan, capsys, tmp_path) -> None:
    args = [str(SEED), "--runs", "50", "--rates", "0,5", "--html", str(tmp_path / "a.html")]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    second = capsys.readouterr().out
    strip = [ln for ln in first.splitlines() if "rollouts in" not in ln]
    assert strip == [ln for ln in second.splitlines() if "rollouts in" not in ln]
    assert "podinfo --random-error" in first and "first check" in first


def test_the_page_is_an_svg_curve_without_scripts(tmp_path) -> None:
    page = tmp_path / "sim.html"
    assert main([str(SEED), "--runs", "20", "--rates", "0,10,50", "--html", str(page)]) == 0
    text = page.read_text()
    assert "<svg" in text and "polyline" in text and "<script" not in text.lower()


def test_a_missing_template_fails_every_check_as_in_the_engine(tmp_path, capsys) -> None:
    canary_only = tmp_path / "canary.yaml"
    canary_only.write_text(yaml.safe_dump(next(d for d in yaml.safe_load_all(SEED.read_text())
                                               if d["kind"] == "Canary")))
    assert main([str(canary_only), "--runs", "20", "--rates", "0", "--no-random-error",
                 "--html", str(tmp_path / "x.html")]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("0% errors"))
    assert row.split()[2] == "0.0%"  # P(promoted)


def test_bad_input_is_a_message_naming_the_problem(tmp_path, capsys) -> None:
    assert main([str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    text = SEED.read_text().replace("threshold: 5", "threshold: five")
    bad.write_text(text)
    assert main([str(bad)]) == 2
    assert "spec.analysis.threshold" in capsys.readouterr().err
    odd = tmp_path / "odd.yaml"
    odd.write_text(SEED.read_text().replace('direction="inbound"', 'direction="outbound"'))
    assert main([str(odd)]) == 2
    assert "metric 'success-rate'" in capsys.readouterr().err


def test_unsupported_query_is_refused_not_guessed() -> None:
    m = load([SEED])
    c = m.canaries[0][0]
    t = m.templates["success-rate.test"]
    from dataclasses import replace

    m.templates["success-rate.test"] = replace(t, query="sum(up)")
    with pytest.raises(SimulationError, match="cannot be simulated"):
        plan_flagger(c, m.templates)


def test_flaggers_builtin_latency_check_stops_a_slow_release(tmp_path) -> None:
    text = SEED.read_text().replace("      interval: 1m\n---", (
        "      interval: 1m\n    - name: request-duration\n      thresholdRange:\n"
        "        max: 500\n      interval: 1m\n---"))
    f = tmp_path / "latency.yaml"
    f.write_text(text)
    m = load([f])
    plan = plan_flagger(m.canaries[0][0], m.templates)
    assert plan.latency
    rng = random.Random(5)
    fast = [run_flagger(plan, TrafficModel(canary=VersionModel(latency_p50_ms=5,
                                                               latency_p99_ms=20)), rng)
            for _ in range(30)]
    slow = [run_flagger(plan, TrafficModel(canary=VersionModel(latency_p50_ms=1500,
                                                               latency_p99_ms=3000)), rng)
            for _ in range(30)]
    assert {o.verdict for o in fast} == {"promoted"}
    assert {o.verdict for o in slow} == {"rolled back"}
