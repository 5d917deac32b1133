"""features/policy.feature needs no cluster: it passes where no environment can start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_policy_feature_passes_with_no_cluster_to_run_on(tmp_path) -> None:
    # a cluster whose kubeconfig does not exist cannot start: any step that asked for the
    # environment would end the run
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(ROOT / "features" / "policy.feature"), "--env", "existing",
                        "--allow-existing-cluster", "--kubeconfig", str(tmp_path / "missing"),
                        "--report-dir", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout
