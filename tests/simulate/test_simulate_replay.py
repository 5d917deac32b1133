"""Replaying timelines recorded by the harness (tests/support/simulate/, recorded by running
features/step_weights.feature on the sandbox with --report-dir)."""

from __future__ import annotations

from pathlib import Path

from canary.harness.timeline import Timeline
from canary.simulate.flagger_run import plan_flagger
from canary.simulate.manifests import load
from canary.simulate.replay import read, replay

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "support" / "simulate"
TEMPLATE = ROOT / "fixtures" / "manifests" / "success-rate-template.yaml"


def _run(timeline: str, *canary_files: Path):
    m = load([*canary_files, TEMPLATE])
    plan = plan_flagger(m.canaries[0][0], m.templates)
    rec = read(Timeline.load(FIX / timeline), "test", "podinfo")
    return rec, replay(plan, rec)


def test_own_spec_reproduces_the_recorded_promotion_exactly() -> None:
    rec, r = _run("promoted-stepweight10-max50.json", FIX / "canary-max50-threshold5.yaml")
    assert rec.verdict == "promoted" and r.verdict == "promoted"
    assert r.weights == rec.weights


def test_own_spec_reproduces_the_recorded_rollback_exactly() -> None:
    rec, r = _run("rolled-back-threshold3.json", FIX / "canary-max50-threshold3.yaml")
    assert rec.verdict == "rolled back" and r.verdict == "rolled back"
    assert r.weights == rec.weights
    assert r.failed_checks == 3


def test_a_higher_threshold_needs_checks_the_recording_does_not_have(tmp_path) -> None:
    five = FIX / "canary-max50-threshold5.yaml"
    rec, r = _run("rolled-back-threshold3.json", five)
    assert r.verdict == "undecided" and "no analysis check" in r.note


def test_a_looser_bound_turns_the_recorded_failures_into_passes(tmp_path) -> None:
    rec = read(Timeline.load(FIX / "rolled-back-threshold3.json"), "test", "podinfo")
    lowest = min(c.value for c in rec.checks if c.value is not None)
    loose = tmp_path / "loose.yaml"
    loose.write_text((FIX / "canary-max50-threshold3.yaml").read_text()
                     .replace("min: 99", f"min: {lowest - 1:g}"))
    _, r = _run("rolled-back-threshold3.json", loose)
    assert r.failed_checks == 0
    assert len(r.weights) > len(rec.weights)


def test_cli_replay_prints_both_weight_sequences(capsys) -> None:
    from canary.simulate.cli import main

    assert main(["--replay", str(FIX / "promoted-stepweight10-max50.json"),
                 str(FIX / "canary-max50-threshold5.yaml"), str(TEMPLATE)]) == 0
    out = capsys.readouterr().out
    assert "recorded: weights [10, 20, 30, 40, 50]" in out
    assert "weights identical to the recording" in out


def test_a_timeline_without_a_rollout_is_a_clear_error(tmp_path, capsys) -> None:
    from canary.simulate.cli import main

    empty = tmp_path / "t.json"
    Timeline(scenario="nothing").dump(empty)
    assert main(["--replay", str(empty), str(FIX / "canary-max50-threshold5.yaml"),
                 str(TEMPLATE)]) == 2
    assert "New revision detected" in capsys.readouterr().err
