"""A feature written outside the repository runs through the installed plugin, no Python code.

Issue 5, acceptance 2: a Canary with ``stepWeights: [5, 25, 50]`` and ``threshold: 2``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "canary_step_weights.feature"


def test_example_feature_runs_from_its_own_folder(tmp_path):
    specs = tmp_path / "my-specs"
    specs.mkdir()
    shutil.copy(EXAMPLE, specs)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--strict-env"], cwd=specs, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout
    report = (specs / "reports" / "rollouts.html").read_text()
    assert "stepWeights [5, 25, 50]" in report
    assert not list(specs.glob("*.py")), "the user's folder needs no Python code"
