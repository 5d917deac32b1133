"""The `existing` environment (the path a kind or staging run takes once the cluster exists:
kubectl, port-forwards to Prometheus and the demo, the engine as a process) exercised for real:
the seed's Flagger and Argo features against a sandbox started by `canary sandbox up`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import REPO

pytestmark = pytest.mark.timeout(400)


def test_seed_features_pass_with_env_existing_against_a_running_sandbox(tmp_path):
    sandbox = tmp_path / "sb"
    canary = [sys.executable, "-m", "canary.cli", "sandbox"]
    up = subprocess.run([*canary, "up", "--dir", str(sandbox), "--time-scale", "0.05"],
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        p = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             str(REPO / "features" / "flagger_canary.feature"),
             str(REPO / "features" / "argo_rollout.feature"),
             "--env", "existing", "--kubeconfig", str(sandbox / "kubeconfig"),
             "--allow-existing-cluster", "--canary-offline-manifests", "--time-scale", "0.05",
             "--report-dir", str(tmp_path / "reports")],
            cwd=REPO, capture_output=True, text=True, timeout=360)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
        assert "6 passed" in p.stdout
    finally:
        subprocess.run([*canary, "down", "--dir", str(sandbox)], capture_output=True,
                       timeout=60)
