"""Argo Rollouts steps (no analysis) in the simulator, through canary.engine.argo."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from canary.simulate.argo_run import plan_argo, run_argo
from canary.simulate.cli import main
from canary.simulate.traffic import TrafficModel, VersionModel
from canary.spec.rollout import expected_route_weights

ROOT = Path(__file__).resolve().parents[2]
CORRECTED = ROOT / "fixtures" / "manifests" / "argo-rollout-corrected.yaml"


def _rollout() -> dict:
    return next(d for d in yaml.safe_load_all(CORRECTED.read_text())
                if d and d.get("kind") == "Rollout")


def test_steps_are_walked_in_order_and_pauses_set_the_duration() -> None:
    ro = _rollout()
    steps = ro["spec"]["strategy"]["canary"]["steps"]
    # the route's own trajectory: the setWeight steps, then the canary at full weight before
    # the promotion (as a watch on the HTTPRoute sees it); the simulator leaves out the zeros
    weights = [w for w in expected_route_weights(ro) if w]
    timed = sum(s["pause"]["duration"] for s in steps
                if "pause" in s and s["pause"].get("duration") is not None)
    plan = plan_argo(ro)
    out = run_argo(plan, TrafficModel(), random.Random(1), promote_after=45.0)
    assert out.verdict == "promoted"
    assert out.weights == weights
    assert out.seconds == 45.0 + timed


def test_without_analysis_a_failing_release_is_promoted_after_hurting_users() -> None:
    plan = plan_argo(_rollout())
    rng = random.Random(2)
    outs = [run_argo(plan, TrafficModel(canary=VersionModel(0.5)), rng) for _ in range(20)]
    assert {o.verdict for o in outs} == {"promoted"}
    assert min(o.failed_requests for o in outs) > 0


def test_cli_takes_a_rollout_file(tmp_path, capsys) -> None:
    assert main([str(CORRECTED), "--runs", "10", "--rates", "0,50", "--html",
                 str(tmp_path / "a.html")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Rollout test/rollouts-demo") and "no analysis" in out
