"""``kubectl argo rollouts get rollout``: AnalysisRuns appear under their revision with their
phase and measurement counts (cmd/get/get_rollout.go PrintAnalysisRunInfo)."""

from __future__ import annotations

from pathlib import Path

import yaml

from canary.cli.rollouts import render_rollout

MANIFEST = Path(__file__).resolve().parents[2] / "fixtures" / "manifests" / \
    "argo-rollout-corrected.yaml"
NOW = 1_800_000_000.0


def rs(h: str, rev: int, uid: str) -> dict:
    return {"metadata": {"name": f"rollouts-demo-{h}", "labels": {
        "rollouts-pod-template-hash": h}, "annotations": {"rollout.argoproj.io/revision": str(rev)},
        "ownerReferences": [{"uid": uid}]},
        "spec": {"replicas": 1}, "status": {"availableReplicas": 1}}


def run(name: str, rev: int, phase: str, **counts: int) -> dict:
    return {"metadata": {"name": name, "annotations": {"rollout.argoproj.io/revision": str(rev)}},
            "status": {"phase": phase, "metricResults": [{"name": "success-rate", **counts}]}}


def test_runs_are_listed_under_their_revision_with_counts() -> None:
    ro = next(d for d in yaml.safe_load_all(MANIFEST.read_text()) if d["kind"] == "Rollout")
    ro["metadata"].update(uid="u", generation=2)
    ro["status"] = {"phase": "Degraded", "observedGeneration": "2", "stableRS": "h1",
                    "currentPodHash": "h2", "abort": True, "currentStepIndex": 0}
    text = render_rollout(ro, [rs("h1", 1, "u"), rs("h2", 2, "u")], NOW,
                          [run("rollouts-demo-h2-2", 2, "Failed", successful=2, failed=1)])
    lines = text.splitlines()
    rev2 = next(i for i, ln in enumerate(lines) if "# revision:2" in ln)
    assert "⧉ rollouts-demo-h2" in lines[rev2 + 1] and lines[rev2 + 1].lstrip("│ ").startswith(
        "├──")
    row = lines[rev2 + 2].split()
    assert row[:6] == ["│", "└──α", "rollouts-demo-h2-2", "AnalysisRun", "✖", "Failed"]
    assert lines[rev2 + 2].endswith("✔ 2,✖ 1")
    assert "# revision:1" in lines[rev2 + 3]
