"""One simulated Argo Rollouts canary (steps, no analysis) through ``canary.engine.argo``.

The loop mirrors canary/controller/argo_loop.py: observe the ReplicaSets, ``reconcile``, apply
the actions (ReplicaSets are ready as soon as they are scaled: pod start-up is not modelled),
sleep until ``requeue_after``. An indefinite ``pause: {}`` waits for a person: after
``promote_after`` spec seconds the simulator applies what ``kubectl argo rollouts promote``
patches (canary/cli/rollouts.py ``promote_patches``). Without analysis nothing can
roll a bad version back: the simulator shows how many users it reaches meanwhile.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from canary.cli.rollouts import promote_patches
from canary.clock import FakeClock
from canary.engine import argo
from canary.simulate.flagger_run import Outcome
from canary.simulate.manifests import SimulationError
from canary.simulate.traffic import TrafficModel, answer, binomial, burst_code, is_failure
from canary.spec.rollout import RolloutSpec, parse_rollout

MAX_PASSES = 5000
RESYNC = 30.0  # spec seconds between passes when nothing is due (the controller's resync)


@dataclass(frozen=True)
class ArgoPlan:
    old: RolloutSpec
    new: RolloutSpec
    obj: dict[str, Any]
    initial: dict[str, Any]  # status after the first deploy
    replicasets: dict[str, argo.ReplicaSetObs]


def _apply(rss: dict[str, argo.ReplicaSetObs], acts: list[argo.Action]) -> int | None:
    weight = None
    for a in acts:
        if isinstance(a, argo.CreateReplicaSet):
            rss[a.hash] = argo.ReplicaSetObs(a.name, a.hash, a.revision, a.replicas, a.replicas,
                                             a.replicas, a.replicas)
        elif isinstance(a, argo.ScaleReplicaSet):
            for rs in rss.values():
                if rs.name == a.name:
                    rs.replicas = rs.ready = rs.available = rs.current = a.replicas
                    rs.scale_down_at = a.scale_down_at
        elif isinstance(a, argo.DeleteReplicaSet):
            for h in [h for h, rs in rss.items() if rs.name == a.name]:
                del rss[h]
        elif isinstance(a, argo.SetWeight):
            weight = a.canary_weight
    return weight


def plan_argo(obj: dict[str, Any]) -> ArgoPlan:
    old = parse_rollout(obj)
    name = f"Rollout {old.namespace}/{old.name}"
    if old.errors:
        raise SimulationError(f"{name}: {'; '.join(old.errors)}")
    if not old.traffic_routed:
        raise SimulationError(f"{name}: only traffic-routed canaries are simulated")
    new_obj = copy.deepcopy(obj)
    tpl_md = new_obj["spec"]["template"].setdefault("metadata", {})
    tpl_md.setdefault("annotations", {})["canary.simulate/revision"] = "new"
    new = parse_rollout(new_obj)
    clock = FakeClock()
    rss: dict[str, argo.ReplicaSetObs] = {}
    status: dict[str, Any] = {}
    for _ in range(20):  # the first deploy: a few passes until the stable set is ready
        d = argo.reconcile(old, status, argo.Observations(now=clock.now(), replicasets=rss))
        _apply(rss, d.actions)
        status = d.status
        clock.advance(1.0)
        if status.get("stableRS") == old.pod_hash and status.get("phase") == "Healthy":
            break
    else:
        raise SimulationError(f"{name}: the first deploy does not become Healthy")
    return ArgoPlan(old, new, new_obj, status, rss)


def run_argo(plan: ArgoPlan, model: TrafficModel, rng: random.Random,
             promote_after: float = 0.0) -> Outcome:
    clock = FakeClock()
    t0 = clock.now()
    rss = copy.deepcopy(plan.replicasets)
    status = copy.deepcopy(plan.initial)
    weight = 0
    out = Outcome("undecided", 0.0)
    sec = 0
    paused_since: float | None = None
    for _ in range(MAX_PASSES):
        t = clock.now() - t0
        while sec < t:
            burst = burst_code(rng) if model.canary.random_error else None
            k = binomial(rng, model.rps, weight / 100.0)
            for s in (answer(rng, model.canary, k, burst, False),
                      answer(rng, model.primary, model.rps - k, burst, False)):
                out.failed_requests += sum(n for c, n in s.codes.items() if is_failure(c))
            out.new_requests += k
            sec += 1
        d = argo.reconcile(plan.new, status, argo.Observations(now=clock.now(), replicasets=rss))
        w = _apply(rss, d.actions)
        if w is not None:
            weight = w
            if w and (not out.weights or out.weights[-1] != w):
                out.weights.append(w)
        status = d.status
        if status.get("stableRS") == plan.new.pod_hash and status.get("phase") == "Healthy":
            out.verdict, out.seconds = "promoted", t
            return out
        if status.get("abort"):
            out.verdict, out.seconds = "rolled back", t
            return out
        wait = d.requeue_after
        if any(isinstance(a, argo.CreateReplicaSet | argo.ScaleReplicaSet) for a in d.actions):
            wait = 0.0  # the ReplicaSet watch wakes the controller once the pods are ready
        if status.get("pauseConditions") and wait is None:
            # an indefinite pause: a person promotes it after promote_after seconds
            paused_since = t if paused_since is None else paused_since
            if t - paused_since >= promote_after:
                _, patch = promote_patches({"spec": plan.obj["spec"], "status": status}, False)
                for k, v in ((patch or {}).get("status") or {}).items():
                    if v is None:
                        status.pop(k, None)
                    else:
                        status[k] = v
                paused_since = None
                continue
            wait = promote_after - (t - paused_since)
        clock.advance(wait if wait is not None else RESYNC)
    out.seconds = clock.now() - t0
    return out
