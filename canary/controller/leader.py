"""Leader election through a ``coordination.k8s.io/v1`` Lease, so two replicas never both act.

The rules are client-go's ``leaderelection`` as Flagger and Argo Rollouts use it
(fluxcd/flagger cmd/flagger/main.go:330-375): a candidate takes the Lease when it is free,
released (empty holder) or expired (``renewTime + leaseDurationSeconds`` in the past); the holder
renews every retry period; a holder that cannot renew within the renew deadline has lost and the
process exits (``OnStoppedLeading`` exits in both controllers, the kubelet restarts it); on a
clean stop the holder releases the Lease (``ReleaseOnCancel: true``) so a successor starts at once.
Optimistic concurrency (409 Conflict on a stale ``resourceVersion``) decides races.

Durations are spec seconds through the engine's clock (time scale). The Lease records them in
spec seconds, as a real cluster's would; expiry is judged against ``renewTime`` on this host's
wall clock (client-go uses the local time it observed a change, to be immune to skew: the sandbox
has one clock).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from canary.clock import Clock, rfc3339
from canary.kube.client import ApiError, ApiUnavailable, Conflict, KubeClient, Obj

log = logging.getLogger("canary.leader")
LEASE = ("coordination.k8s.io/v1", "Lease")


@dataclass(frozen=True)
class LeaseTimes:
    """client-go's durations in spec seconds (Flagger's values by default)."""

    lease: float = 60.0
    renew_deadline: float = 15.0
    retry: float = 5.0


def identity() -> str:
    """``hostname_uuid``, as Flagger names its candidates (the pod name in a cluster)."""
    host = os.environ.get("POD_NAME") or os.uname().nodename
    return f"{host}_{uuid.uuid4()}"


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def lease_free(lease: Obj, me: str, now: float, clock: Clock) -> bool:
    """Whether ``me`` may take or keep ``lease`` at wall time ``now`` (pure)."""
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    if not holder or holder == me:
        return True
    renewed = _parse_time(spec.get("renewTime")) or _parse_time(spec.get("acquireTime"))
    duration = float(spec.get("leaseDurationSeconds") or 0)
    return renewed is None or now > renewed + clock.scaled(duration)


class LeaderElector:
    def __init__(self, client: KubeClient, namespace: str, name: str, clock: Clock,
                 times: LeaseTimes | None = None, me: str | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.clock = clock
        self.times = times or LeaseTimes()
        self.me = me or identity()
        self.leading = False

    def _spec(self, transitions: int, acquired: str | None) -> Obj:
        now = rfc3339(self.clock.now(), micro=True)
        return {"holderIdentity": self.me, "leaseDurationSeconds": int(self.times.lease),
                "acquireTime": acquired or now, "renewTime": now,
                "leaseTransitions": transitions}

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this candidate holds the Lease afterwards."""
        try:
            lease = self.client.get_or_none(*LEASE, self.name, self.namespace)
            if lease is None:
                self.client.create({"apiVersion": LEASE[0], "kind": LEASE[1],
                                    "metadata": {"name": self.name, "namespace": self.namespace},
                                    "spec": self._spec(0, None)})
                return True
            if not lease_free(lease, self.me, self.clock.now(), self.clock):
                return False
            spec = lease.get("spec") or {}
            mine = spec.get("holderIdentity") == self.me
            transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
            lease["spec"] = self._spec(transitions, spec.get("acquireTime") if mine else None)
            self.client.update(lease)
            return True
        except Conflict:
            return False  # someone else wrote it first
        except (ApiError, ApiUnavailable) as e:
            log.warning("leader election: lease %s/%s: %s", self.namespace, self.name, e)
            return False

    def acquire(self, stop: threading.Event) -> bool:
        """Block until leading (True) or stopped (False)."""
        log.info("attempting to acquire leader lease %s/%s as %s", self.namespace, self.name,
                 self.me)
        told = False
        while not stop.is_set():
            if self.try_acquire_or_renew():
                self.leading = True
                log.info("successfully acquired lease %s/%s", self.namespace, self.name)
                return True
            if not told:
                log.info("another instance holds lease %s/%s; waiting", self.namespace,
                         self.name)
                told = True
            self.clock.wait(stop, self.times.retry)
        return False

    def keep(self, stop: threading.Event, lost: threading.Event) -> None:
        """Renew every retry period until ``stop``; set ``lost`` after the renew deadline."""
        last_ok = self.clock.monotonic()
        while not self.clock.wait(stop, self.times.retry):
            if self.try_acquire_or_renew():
                last_ok = self.clock.monotonic()
            elif self.clock.monotonic() - last_ok >= self.clock.scaled(self.times.renew_deadline):
                log.error("leadership lost: lease %s/%s not renewed within %gs",
                          self.namespace, self.name, self.times.renew_deadline)
                self.leading = False
                lost.set()
                return

    def release(self) -> None:
        """Give the Lease up (client-go's ReleaseOnCancel): empty holder, 1s duration."""
        if not self.leading:
            return
        self.leading = False
        try:
            lease = self.client.get_or_none(*LEASE, self.name, self.namespace)
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.me:
                return
            now = rfc3339(self.clock.now(), micro=True)
            lease["spec"].update({"holderIdentity": "", "leaseDurationSeconds": 1,
                                  "renewTime": now, "acquireTime": now})
            self.client.update(lease)
            log.info("released lease %s/%s", self.namespace, self.name)
        except (ApiError, ApiUnavailable) as e:
            log.warning("could not release lease %s/%s: %s", self.namespace, self.name, e)
