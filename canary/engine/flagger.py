"""One tick of Flagger's canary analysis as a pure function (scheduler.go ``advanceCanary``).

``tick(spec, status, observations)`` returns a :class:`Decision`: the actions to perform in
order (events, route weights, scaling, promotion), the new status, or a :class:`Need` asking
the caller to run webhooks / the analysis and call again with the results filled in. No I/O.

Restart safety: route weights are read from the HTTPRoute (``obs.canary_weight``), so when a
crash lands between the route write and the status write the next tick continues from the
route and repeats no weight and skips none.
"""

from __future__ import annotations

from typing import Any

from canary.engine.status import (
    FAILED,
    FINALISING,
    INITIALIZED,
    INITIALIZING,
    PROGRESSING,
    PROMOTING,
    SUCCEEDED,
    WAITING,
    WAITING_PROMOTION,
    set_failed_checks,
    set_iterations,
    set_phase,
    set_weight,
    spec_changed,
    sync_status,
)
from canary.engine.types import (
    NORMAL,
    WARNING,
    Decision,
    Event,
    Need,
    Observations,
    PostRollout,
    Promote,
    ScaleTarget,
    SetRoutes,
)
from canary.spec.canary import CanarySpec

_ADVANCING = (PROGRESSING, WAITING, WAITING_PROMOTION, PROMOTING, FINALISING)


class _Tick:
    def __init__(self, c: CanarySpec, status: dict[str, Any], obs: Observations) -> None:
        self.c, self.obs = c, obs
        self.d = Decision(status=dict(status))
        self.cn = f"{c.name}.{c.namespace}"  # canary name.namespace
        self.tn = f"{c.target_name}.{c.namespace}"  # target name.namespace

    @property
    def st(self) -> dict[str, Any]:
        return self.d.status

    def event(self, type_: str, message: str) -> None:
        self.d.actions.append(Event(type_, message))

    def done(self, summary: str) -> Decision:
        self.d.summary = summary
        return self.d

    def need(self, kind: str, hook_type: str = "", phase: str = "") -> Decision:
        self.d.need = Need(kind, hook_type, phase)
        return self.done(f"needs {hook_type or kind}")

    # -- webhooks --------------------------------------------------------------------------

    def hooks(self, type_: str, phase: str) -> list | None:
        """Results for the ``type_`` hooks, [] when none configured, None when still needed."""
        if not self.c.analysis.hooks(type_):
            return []
        return self.obs.hooks.get(type_)

    # -- rollback --------------------------------------------------------------------------

    def rollback(self) -> Decision:
        fc = int(self.st.get("failedChecks") or 0)
        if fc >= self.c.analysis.threshold:
            self.event(WARNING, f"Rolling back {self.cn} failed checks threshold reached {fc}")
        self.d.actions.append(SetRoutes(100, 0))
        self.event(WARNING, f"Canary failed! Scaling down {self.cn}")
        self.d.actions.append(ScaleTarget(0))
        self.d.status = sync_status(self.st, FAILED, self.obs.target_hash, self.obs.now)
        self.d.actions.append(PostRollout(FAILED))
        return self.done("rolled back")

    def scale_from_zero(self) -> int:
        if self.obs.target_replicas > 0:
            return self.obs.target_replicas
        return max(1, self.obs.primary_replicas)

    # -- the tick --------------------------------------------------------------------------

    def run(self) -> Decision:  # noqa: C901 - mirrors advanceCanary's linear order
        c, obs, now = self.c, self.obs, self.obs.now
        a = c.analysis
        phase = self.st.get("phase") or ""
        if c.suspend:
            self.event(NORMAL, "skipping canary run as object is suspended")
            return self.done("suspended")

        # initialization: wait for the primary, scale the target to zero
        if phase in ("", INITIALIZING):
            if phase == "":
                self.d.status = set_phase(self.st, INITIALIZING, now)
            if not obs.primary.ready and not c.skip_analysis:
                self.event(WARNING, f"{c.primary_name}.{c.namespace} not ready: "
                                    f"{obs.primary.message}")
                return self.done("initializing: primary not ready")
            self.d.actions.append(ScaleTarget(0))
            self.d.status = sync_status(self.st, INITIALIZED, obs.target_hash, now)
            self.event(NORMAL, f"Initialization done! {self.cn}")
            return self.done("initialized")

        # shouldAdvance
        changed = spec_changed(self.st, obs.target_hash)
        if phase == FAILED and self.st.get("lastAppliedSpec") != obs.target_hash:
            # keep lastAppliedSpec in sync in Failed so re-applying a failed spec is detected
            self.d.status = dict(self.st, lastAppliedSpec=obs.target_hash)
        if phase not in _ADVANCING and self.st.get("lastAppliedSpec") and not changed:
            return self.done("idle")

        # primary readiness
        if not c.skip_analysis and not obs.primary.ready:
            msg = f"{c.primary_name}.{c.namespace} not ready: {obs.primary.message}"
            if obs.primary.retriable:
                self.event(WARNING, msg)
                return self.done("waiting for primary")
            if phase in (PROMOTING, FINALISING):
                self.d.actions.append(SetRoutes(0, 100))
                self.d.status = set_weight(set_phase(self.st, FAILED, now), 100, now)
                self.event(WARNING, f"Promotion of {self.cn} failed, primary not ready: "
                                    f"{obs.primary.message}")
                return self.done("promotion failed")
            self.event(WARNING, msg)
            return self.rollback()

        pw, cw = obs.primary_weight, obs.canary_weight

        # checkCanaryStatus: a new revision in a resting phase starts a run
        if phase not in (PROGRESSING, WAITING_PROMOTION, PROMOTING, FINALISING):
            results = self.hooks("confirm-rollout", phase)
            if results is None:
                return self.need("hooks", "confirm-rollout", phase)
            for h in results:
                if not h.ok:
                    if phase != WAITING:
                        self.d.status = set_phase(self.st, WAITING, now)
                        self.event(WARNING, f"Halt {self.cn} advancement waiting for approval "
                                            f"{h.name}")
                    return self.done("waiting for approval")
                self.event(NORMAL, f"Confirm-rollout check {h.name} passed")
            self.event(NORMAL, f"New revision detected! Scaling up {self.tn}")
            self.d.actions.append(ScaleTarget(self.scale_from_zero()))
            self.d.status = sync_status(self.st, PROGRESSING, obs.target_hash, now)
            return self.done("new revision")

        # a newer revision mid-analysis restarts it
        if phase in (PROGRESSING, WAITING_PROMOTION) and changed:
            self.event(NORMAL, f"New revision detected! Restarting analysis for {self.tn}")
            self.d.actions.append(SetRoutes(100, 0))
            self.d.status = sync_status(self.st, PROGRESSING, obs.target_hash, now)
            return self.done("restarted analysis")

        # canary readiness
        if not obs.canary.ready:
            msg = f"canary deployment {self.tn} not ready: {obs.canary.message}"
            if obs.canary.retriable or phase not in (PROGRESSING, WAITING_PROMOTION):
                self.event(WARNING, msg)
                return self.done("waiting for canary")
            self.event(WARNING, f"Rolling back {self.cn} progress deadline exceeded {msg}")
            return self.rollback()

        if phase in (PROGRESSING, WAITING_PROMOTION) and obs.target_replicas == 0:
            # only a rollback scales the canary to zero mid-analysis: an engine killed between
            # that scale-down and the Failed status write finishes the rollback here instead
            # of analysing (and routing traffic to) a canary without pods
            return self.rollback()

        if c.skip_analysis:
            self.d.actions.append(SetRoutes(100, 0))
            self.event(NORMAL, f"Copying {self.tn} template spec to {c.primary_name}."
                               f"{c.namespace}")
            self.d.actions += [Promote(), ScaleTarget(0)]
            self.d.status = set_phase(self.st, SUCCEEDED, now)
            self.d.actions.append(PostRollout(SUCCEEDED))
            self.event(NORMAL, f"Promotion completed! Canary analysis was skipped for {self.tn}")
            return self.done("promoted without analysis")

        # manual rollback webhooks
        if phase in (PROGRESSING, WAITING, WAITING_PROMOTION):
            results = self.hooks("rollback", phase)
            if results is None:
                return self.need("hooks", "rollback", phase)
            for h in results:
                if h.ok:
                    self.event(WARNING, f"Rollback check {h.name} passed")
                    self.event(WARNING, f"Rolling back {self.cn} manual webhook invoked")
                    return self.rollback()
                self.event(NORMAL, f"Rollback hook {h.name} not signaling a rollback")

        if phase == PROMOTING:
            if a.step_weight_promotion <= 0:
                self.event(NORMAL, "Routing all traffic to primary")
                self.d.actions.append(SetRoutes(100, 0))
                self.d.status = set_phase(self.st, FINALISING, now)
                return self.done("routing all traffic to primary")
            pw = min(100, pw + a.step_weight_promotion)
            self.d.actions.append(SetRoutes(pw, 100 - pw))
            self.event(NORMAL, f"Advance {self.cn} primary weight {pw}")
            if pw >= 100:
                self.d.status = set_phase(self.st, FINALISING, now)
            return self.done(f"primary weight {pw}")

        if phase == FINALISING:
            self.d.actions.append(ScaleTarget(0))
            self.d.status = set_phase(self.st, SUCCEEDED, now)
            self.d.actions.append(PostRollout(SUCCEEDED))
            self.event(NORMAL, f"Promotion completed! Scaling down {self.tn}")
            return self.done("promotion completed")

        # failed checks threshold: checked at the start of the tick after it was reached
        if int(self.st.get("failedChecks") or 0) >= a.threshold:
            return self.rollback()

        fc = int(self.st.get("failedChecks") or 0)
        if cw == 0 and int(self.st.get("iterations") or 0) == 0:
            self.event(NORMAL, f"Starting canary analysis for {self.tn}")
            results = self.hooks("pre-rollout", PROGRESSING)
            if results is None:
                return self.need("hooks", "pre-rollout", PROGRESSING)
            for h in results:
                if not h.ok:
                    self.event(WARNING, f"Halt {self.cn} advancement pre-rollout check {h.name} "
                                        f"failed {h.error}")
                    self.d.status = set_failed_checks(self.st, fc + 1, now)
                    return self.done(f"pre-rollout failed, failedChecks {fc + 1}")
                self.event(NORMAL, f"Pre-rollout check {h.name} passed")
        else:
            if obs.analysis is None:
                return self.need("analysis", phase=PROGRESSING)
            if not obs.analysis.ok:
                self.d.actions += obs.analysis.events
                self.d.status = set_failed_checks(self.st, fc + 1, now)
                return self.done(f"analysis failed, failedChecks {fc + 1}")

        if a.strategy == "ab-testing":
            return self.run_ab(phase)
        if a.strategy == "blue-green":
            return self.run_blue_green(phase)

        step = a.next_step_weight(cw)
        if cw < a.max_weight:
            # Flagger asks confirm-traffic-increase only for a positive step, then moves the
            # weight by the step whatever its sign (scheduler.go:493 and runCanary).
            results = self.hooks("confirm-traffic-increase", PROGRESSING) if step > 0 else []
            if results is None:
                return self.need("hooks", "confirm-traffic-increase", PROGRESSING)
            for h in results:
                if not h.ok:
                    self.event(WARNING, f"Halt {self.cn} advancement waiting for traffic "
                                        f"increase approval {h.name}")
                    return self.done("waiting for traffic increase approval")
                self.event(NORMAL, f"Confirm-traffic-increase check {h.name} passed")
            pw, cw = max(0, pw - step), min(100, cw + step)
            self.d.actions.append(SetRoutes(pw, cw))
            self.d.status = set_weight(self.st, cw, now)
            self.event(NORMAL, f"Advance {self.cn} canary weight {cw}")
            return self.done(f"canary weight {cw}")

        results = self.hooks("confirm-promotion", PROGRESSING)
        if results is None:
            return self.need("hooks", "confirm-promotion", PROGRESSING)
        return self.promote(phase, results)

    # -- A/B testing and blue/green (scheduler.go runAB / runBlueGreen) -----------------------

    def promote(self, phase: str, results: list) -> Decision:
        """Confirm-promotion results, then copy the template and start Promoting."""
        c, now = self.c, self.obs.now
        for h in results:
            if not h.ok:
                if phase != WAITING_PROMOTION:
                    self.d.status = set_phase(self.st, WAITING_PROMOTION, now,
                                              c.analysis.iterations)
                    self.event(WARNING, f"Halt {self.cn} advancement waiting for promotion "
                                        f"approval {h.name}")
                return self.done("waiting for promotion approval")
            self.event(NORMAL, f"Confirm-promotion check {h.name} passed")
        self.event(NORMAL, f"Copying {self.tn} template spec to {c.primary_name}.{c.namespace}")
        self.d.actions.append(Promote())
        self.d.status = set_phase(self.st, PROMOTING, now)
        return self.done("promoting")

    def advance_iteration(self) -> Decision:
        done = int(self.st.get("iterations") or 0) + 1
        self.d.status = set_iterations(self.st, done, self.obs.now)
        self.event(NORMAL, f"Advance {self.cn} canary iteration {done}/"
                           f"{self.c.analysis.iterations}")
        return self.done(f"iteration {done}")

    def run_ab(self, phase: str) -> Decision:
        """Matching requests go to the canary for ``iterations`` ticks, then promotion."""
        total = self.c.analysis.iterations
        if total > int(self.st.get("iterations") or 0):
            self.d.actions.append(SetRoutes(0, 100))
            return self.advance_iteration()
        results = self.hooks("confirm-promotion", PROGRESSING)
        if results is None:
            return self.need("hooks", "confirm-promotion", PROGRESSING)
        return self.promote(phase, results)

    def run_blue_green(self, phase: str) -> Decision:
        """``iterations`` ticks of analysis on the idle canary, all traffic to it for one more
        tick, then promotion."""
        total, done = self.c.analysis.iterations, int(self.st.get("iterations") or 0)
        if total > done:
            return self.advance_iteration()
        results = self.hooks("confirm-promotion", PROGRESSING)
        if results is None:
            return self.need("hooks", "confirm-promotion", PROGRESSING)
        if total == done:
            if not all(h.ok for h in results):
                return self.promote(phase, results)  # -> WaitingPromotion
            for h in results:
                self.event(NORMAL, f"Confirm-promotion check {h.name} passed")
            self.event(NORMAL, "Routing all traffic to canary")
            self.d.actions.append(SetRoutes(0, 100))
            self.d.status = set_iterations(self.st, done + 1, self.obs.now)
            return self.done("routing all traffic to canary")
        return self.promote(phase, results)


def tick(spec: CanarySpec, status: dict[str, Any], obs: Observations) -> Decision:
    """Decide one analysis tick. Call again with ``obs`` completed while ``need`` is set."""
    return _Tick(spec, status, obs).run()


__all__ = ["tick", "INITIALIZED", "SUCCEEDED"]
