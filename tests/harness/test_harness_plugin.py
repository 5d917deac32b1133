"""The installed pytest plugin, run as a user runs it: ``pytest`` in a directory of features."""

from __future__ import annotations

import json
import os
import re
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


def test_existing_without_the_allow_flag_ends_the_run_naming_the_flag(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    p = run_pytest(tmp_path, "--env", "existing")
    assert p.returncode == 4, p.stdout + p.stderr
    assert "refuses to run without --allow-existing-cluster" in p.stderr.strip().splitlines()[-1]


def test_skipping_is_opt_in_and_the_reports_say_why(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    p = run_pytest(tmp_path, "--env", "existing", "--canary-skip-unavailable")
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


def test_kind_without_docker_ends_the_run_naming_what_is_missing(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no docker, kind, linkerd
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", ".", "--env",
                        "kind"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       env=env)
    assert p.returncode != 0
    last = (p.stdout + p.stderr).strip().splitlines()[-1]
    assert "--env kind needs docker, kind, kubectl, linkerd on PATH" in last, last


def test_a_real_implementation_on_the_sandbox_is_refused(tmp_path):
    (tmp_path / "ext.feature").write_text(FEATURE)
    p = run_pytest(tmp_path, "--implementation", "flagger", "--report-dir", "out")
    assert p.returncode == 4
    assert "needs a real cluster (--env kind or --env existing)" in p.stderr
    assert not (tmp_path / "out").exists()


UNRELATED_TEST = "def test_one():\n    assert 1 + 1 == 2\n"


def test_an_unrelated_project_gets_no_files_and_no_feature_collection(tmp_path):
    (tmp_path / "test_one.py").write_text(UNRELATED_TEST)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "ext.feature").write_text(FEATURE)
    before = {p.name for p in tmp_path.iterdir()}
    p = run_pytest(tmp_path)
    assert p.returncode == 0 and "1 passed" in p.stdout, p.stdout + p.stderr
    assert {p.name for p in tmp_path.iterdir()} == before


BDD_FEATURE = """Feature: Arithmetic
  Scenario: adding
    Given the number 2
    Then adding 3 gives 5
"""

BDD_TEST = """from pytest_bdd import given, parsers, scenarios, then

scenarios("features")


@given(parsers.parse("the number {n:d}"), target_fixture="number")
def number(n):
    return n


@then(parsers.parse("adding {m:d} gives {total:d}"))
def adds(number, m, total):
    assert number + m == total
"""


@pytest.mark.parametrize("args", [(), ("features", "test_arith.py")])
def test_a_project_binding_its_own_features_collects_each_once(tmp_path, args):
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "arith.feature").write_text(BDD_FEATURE)
    (tmp_path / "test_arith.py").write_text(BDD_TEST)
    p = run_pytest(tmp_path, "-v", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed" in p.stdout and "StepDefinitionNotFoundError" not in p.stdout, p.stdout


def test_every_step_in_the_repo_features_is_defined(tmp_path):
    feats = [REPO / "features", REPO / "tests" / "support" / "features", REPO / "docs" / "examples"]
    p = run_pytest(REPO, "--generate-missing", *sum((["--feature", str(f)] for f in feats), []),
                   "--report-dir", str(tmp_path), *map(str, feats))
    # --generate-missing reads a Scenario Outline's steps before its Examples fill them in, so
    # a typed parameter (`{pods:d}`) cannot match `<pods>` there; those steps are checked when
    # the outline's scenarios run (every feature runs in this suite)
    missing = [line for line in p.stdout.splitlines() if "is not defined" in line
               and not re.search(r"<[a-z_]+>", line.split(" is not defined")[0])]
    assert not missing, "\n".join(missing)
    assert p.returncode in (0, 5), p.stdout + p.stderr


def test_an_undefined_step_is_reported(tmp_path):
    (tmp_path / "bad.feature").write_text(
        "Feature: Bad\n  Scenario: typo\n    Given a clustr with Linkerd\n")
    p = run_pytest(tmp_path, "--generate-missing", "--feature", str(tmp_path))
    assert 'Given "a clustr with Linkerd"' in p.stdout or "is not defined" in p.stdout, p.stdout


@pytest.mark.parametrize("impl, tags, expect", [
    ("bundled", {"flagger"}, None),
    ("bundled", set(), None),
    ("flagger", {"flagger"}, None),
    ("flagger", {"argo"}, "not claimed by --implementation flagger"),
    ("argo-rollouts", {"implementation-specific"}, "not claimed"),
    ("argo-rollouts", {"argo", "smoke"}, None),
    ("flagger", {"smoke"}, None),
])
def test_tags_declare_what_each_implementation_claims(impl, tags, expect):
    got = skip_reason(impl, tags)
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
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "--canary"],
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


FAILING = '''Feature: A failing scenario
  Scenario: fails after creating a namespace
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And the namespace "kept" exists
    Then the deployment "nope" in namespace "kept" runs image "nginx"
'''


def test_keep_on_failure_keeps_the_namespace_and_the_sandbox_and_says_how_to_look(tmp_path):
    (tmp_path / "fail.feature").write_text(FAILING)
    sandbox = tmp_path / "sb"
    p = run_pytest(tmp_path, "--canary-keep-on-failure", "--sandbox-dir", str(sandbox),
                   "--no-engine", timeout=240)
    try:
        assert p.returncode == 1, p.stdout + p.stderr
        assert f"export KUBECONFIG={sandbox / 'kubeconfig'}" in p.stdout
        assert "kubectl -n kept get all" in p.stdout
        kubectl = subprocess.run(["kubectl", "get", "namespace", "kept", "-o", "name"],
                                 capture_output=True, text=True, timeout=30,
                                 env={**os.environ, "KUBECONFIG": str(sandbox / "kubeconfig")})
        assert kubectl.stdout.strip() == "namespace/kept", kubectl.stderr
    finally:
        subprocess.run([sys.executable, "-m", "canary.cli", "sandbox", "down", "--dir",
                        str(sandbox)], capture_output=True, timeout=60)
