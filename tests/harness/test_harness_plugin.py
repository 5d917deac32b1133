"""The installed pytest plugin, run as a user runs it: ``pytest`` in a directory of features."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from canary.harness.plugin import skip_reason

REPO = Path(__file__).resolve().parents[2]

FEATURE = '''@flagger
Feature: An external feature
  Scenario: Uses only the installed step library
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And the namespace "ext" exists
    Then the canary "podinfo" in namespace "ext" reaches phase "Initialized"
'''


def run_pytest(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_external_feature_is_collected_and_skipped_with_reason(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    p = run_pytest(tmp_path, "--env", "existing")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 skipped" in p.stdout
    assert "refuses to run without --allow-existing-cluster" in p.stdout
    reports = tmp_path / "reports"
    assert (reports / "junit.xml").is_file()
    assert json.loads((reports / "cucumber.json").read_text())[0]["name"] == "An external feature"
    html = (reports / "rollouts.html").read_text()
    assert "Uses only the installed step library" in html and "SKIPPED" in html
    conf = json.loads((reports / "conformance.json").read_text())
    assert conf["features"]["An external feature"]["skipped"] == 1


def test_strict_env_turns_the_skip_into_a_failure(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    p = run_pytest(tmp_path, "--env", "existing", "--strict-env")
    assert p.returncode == 1
    assert "1 failed" in p.stdout


def test_reserved_implementation_is_skipped_on_the_sandbox(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    p = run_pytest(tmp_path, "--implementation", "flagger", "--report-dir", "out")
    assert p.returncode == 0, p.stdout
    assert "needs a real cluster (--env kind or --env existing)" in p.stdout
    assert (tmp_path / "out" / "rollouts.html").is_file()


def test_every_step_in_the_repo_features_is_defined(tmp_path):
    feats = [REPO / "features", REPO / "tests" / "support" / "features", REPO / "docs" / "examples"]
    p = run_pytest(REPO, "--generate-missing", *sum((["--feature", str(f)] for f in feats), []),
                   "--report-dir", str(tmp_path), *map(str, feats))
    assert "is not defined" not in p.stdout, p.stdout
    assert p.returncode in (0, 5), p.stdout + p.stderr


def test_an_undefined_step_is_reported(tmp_path):
    (tmp_path / "bad.feature").write_text(
        "Feature: Bad\n  Scenario: typo\n    Given a clustr with Linkerd\n")
    p = run_pytest(tmp_path, "--generate-missing", "--feature", str(tmp_path))
    assert 'Given "a clustr with Linkerd"' in p.stdout or "is not defined" in p.stdout, p.stdout


@pytest.mark.parametrize("env, impl, tags, expect", [
    ("sandbox", "bundled", {"flagger"}, None),
    ("sandbox", "bundled", set(), None),
    ("sandbox", "flagger", {"flagger"}, "needs a real cluster"),
    ("kind", "flagger", {"flagger"}, None),
    ("kind", "flagger", {"argo"}, "not claimed by --implementation flagger"),
    ("kind", "argo-rollouts", {"implementation-specific"}, "not claimed"),
    ("existing", "argo-rollouts", {"argo", "smoke"}, None),
    ("kind", "flagger", {"smoke"}, None),
])
def test_tags_declare_what_each_implementation_claims(env, impl, tags, expect):
    got = skip_reason(env, impl, tags)
    assert (got is None) if expect is None else (expect in got)


SLOW_TEST = '''
import time
import pytest

@pytest.fixture
def resource():
    yield
    open("cleaned-up", "w").write("yes")

def test_slow(resource):
    open("started", "w").write("yes")
    time.sleep(60)
'''


def test_sigterm_runs_fixture_cleanup(tmp_path):
    (tmp_path / "test_slow.py").write_text(SLOW_TEST)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists():
            assert time.monotonic() < deadline, "the test never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "cleaned-up").read_text() == "yes", out.decode()
    assert proc.returncode != 0
