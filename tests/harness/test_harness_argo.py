"""Pure helpers behind the Argo Rollouts steps (canary/harness/argo.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from canary.harness import argo
from canary.harness.timeline import Timeline

ROOT = Path(__file__).resolve().parents[2]
CORRECTED = ROOT / "fixtures" / "manifests" / "argo-rollout-corrected.yaml"


def _docs() -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(CORRECTED.read_text()) if d}


def _timeline(entries: list[dict]) -> Timeline:
    tl = Timeline(scenario="t", started=0.0, time_scale=0.05)
    tl.entries.extend(entries)
    return tl


def _ro(t: float, phase: str) -> dict:
    return {"kind": "canary", "t": t, "name": "rollouts-demo", "namespace": "test",
            "resource": "Rollout", "phase": phase}


def _route(t: float, canary: int) -> dict:
    return {"kind": "route", "t": t, "name": "r", "namespace": "test",
            "backends": {"podinfo-stable": 100 - canary, "podinfo-canary": canary}}


def test_plugin_command_lines_are_recognised_across_line_continuations() -> None:
    seed = ("kubectl argo rollouts -n test set image rollouts-demo \\\n"
            "  podinfod=quay.io/stefanprodan/podinfo:1.7.1")
    assert argo.join_lines(seed) == ("kubectl argo rollouts -n test set image rollouts-demo "
                                     "podinfod=quay.io/stefanprodan/podinfo:1.7.1")
    assert argo.is_plugin_command(seed)
    assert not argo.is_plugin_command("kubectl -n test get rollout rollouts-demo")


def test_the_shim_is_found_by_stock_kubectl_as_a_plugin(tmp_path: Path) -> None:
    argo.install_kubectl_plugin(tmp_path / "bin")
    env = argo.path_with(tmp_path / "bin", dict(os.environ))
    p = subprocess.run(["kubectl", "argo", "rollouts", "--help"], capture_output=True, text=True,
                       env=env, timeout=60, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "usage: kubectl argo rollouts" in p.stdout and "promote" in p.stdout


def test_rollout_state_reads_what_the_plugin_shows() -> None:
    st = argo.rollout_state({"status": {"phase": "Paused", "message": "CanaryPauseStep",
                                        "currentStepIndex": 1,
                                        "canary": {"weights": {"canary": {"weight": 30}}}}})
    assert (st.phase, st.step, st.weight, st.aborted) == ("Paused", 1, 30, False)
    assert st.describe() == "phase Paused (CanaryPauseStep), step 1, canary weight 30"
    assert argo.rollout_state({}).describe() == "phase <none>, step -, canary weight 0"


def test_timed_pauses_and_budget_come_from_the_seed_steps() -> None:
    ro = _docs()["rollouts-demo"]
    assert argo.timed_pauses(ro) == [(40, 10), (60, 10), (80, 10)]
    assert argo.pause_budget(ro) == 30.0


def test_update_start_is_the_last_time_the_phase_left_healthy() -> None:
    tl = _timeline([_ro(1, "Progressing"), _ro(2, "Healthy"), _ro(3, "Progressing"),
                    _ro(4, "Paused"), _ro(5, "Healthy"), _ro(6, "Paused"), _ro(7, "Degraded")])
    assert argo.update_start(tl, "rollouts-demo", "test") == 6
    assert argo.update_start(tl, "rollouts-demo", "test", since=6.5) is None
    assert argo.update_start(_timeline([_ro(1, "Healthy")]), "rollouts-demo") is None


def test_route_trajectory_starts_from_the_weight_in_force() -> None:
    tl = _timeline([_route(1, 0), _route(2, 30), _route(2.5, 30), _route(3, 40),
                    _route(4, 100), _route(4.01, 0)])
    assert argo.route_trajectory(tl, "r", since=1.5, namespace="test") == [0, 30, 40, 100, 0]
    assert argo.route_trajectory(tl, "r", since=2.7, until=3.5) == [30, 40]


def test_weight_holds_leave_out_the_weight_still_in_force() -> None:
    holds = argo.weight_holds([(0.0, 30), (1.0, 40), (1.5, 60), (2.25, 0)])
    assert holds == {30: 1.0, 40: 0.5, 60: 0.75}


def test_port_mismatches_name_backend_port_and_service_ports() -> None:
    docs = _docs()
    route = docs["argo-rollouts-http-route"]
    good = {f"test/{n}": docs[n] for n in ("podinfo-stable", "podinfo-canary")}
    assert argo.port_mismatches(route, good) == []
    bad = yaml.safe_load(yaml.safe_dump(good))
    for svc in bad.values():
        svc["spec"]["ports"][0]["port"] = 8989
    got = argo.port_mismatches(route, bad)
    assert got == [("podinfo-stable", 9898, [8989]), ("podinfo-canary", 9898, [8989])]
    from canary.spec.rollout import check_route_backends

    report = "\n".join(check_route_backends(route, bad))
    assert argo.missing_mentions(report, "argo-rollouts-http-route", got) == []
    missing = argo.missing_mentions("podinfo-stable is broken", "argo-rollouts-http-route", got)
    assert "the route argo-rollouts-http-route" in missing
    assert any(m.startswith("'8989'") for m in missing)
    assert any(m.startswith("'podinfo-canary'") for m in missing)


def test_canary_backend_is_the_rollouts_canary_service_with_unmanaged_backends_kept() -> None:
    # the gatewayapi plugin's httproute-extra-backends test: names without "-canary", and a
    # third backend the plugin never touches
    def entry(t: float, canary: int) -> dict:
        return {"kind": "route", "t": t, "name": "r", "namespace": "test",
                "backends": {"argo-rollouts-stable-service": 100 - canary,
                             "argo-rollouts-canary-service": canary, "extra-service": 10}}

    tl = _timeline([entry(1, 0), entry(2, 20), entry(3, 50), entry(4, 0)])
    ro = {"spec": {"strategy": {"canary": {"canaryService": "argo-rollouts-canary-service",
                                           "stableService": "argo-rollouts-stable-service"}}}}
    canary, stable = argo.services_of(ro)
    assert stable == "argo-rollouts-stable-service"
    assert argo.route_trajectory(tl, "r", since=0, canary=canary) == [0, 20, 50, 0]
    assert argo.route_trajectory(tl, "r", since=0) == []  # by name: nothing recognisable
