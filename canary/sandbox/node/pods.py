"""The kubelet: runs each Pod's containers as local processes and writes Pod status.

One worker thread per pod starts the containers (through the image registry), watches them
exit, restarts them with back-off, runs readiness/liveness probes and reports everything in
the Pod's status and events the way the kubelet does.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canary.kube.client import ApiError, ApiUnavailable, KubeClient, NotFound
from canary.kube.events import EventRecorder
from canary.kube.informer import Informer
from canary.sandbox import images, incluster
from canary.sandbox.layout import SandboxLayout
from canary.sandbox.system_pods import HOST_PROCESS

from . import podnet
from .ipam import IPAM
from .objects import Obj, annotations_of, is_terminating, rfc3339
from .podenv import container_env, expand
from .probes import probe_timing, run_probe
from .processes import ProcessTable, stop_process

log = logging.getLogger("canary.node")

NODE_NAME = "sandbox"
HOST_IP = "127.0.0.1"
BACKOFF_START = 10.0  # spec seconds, doubling
BACKOFF_MAX = 300.0
MAX_GRACE = 3.0  # wall seconds we wait for SIGTERM before SIGKILL, whatever the spec says
PORT_CHECK = 0.05  # wall seconds between "is the port open yet" checks when no probe is set
START_GRACE = 2.0  # wall seconds a started program gets before startup/liveness failures count
INJECT = "linkerd.io/inject"

Resolver = Callable[[str, list[str] | None, list[str] | None], Any]


@dataclass
class Container:
    spec: Obj
    proc: subprocess.Popen | None = None
    exit_code: int | None = None
    exited: bool = False
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    restart_count: int = 0
    crashes: int = 0  # consecutive crashes, for the back-off
    pull_failures: int = 0
    retry_at: float = 0.0
    started_at: float = 0.0
    ready: bool = False
    ever_started: bool = False
    container_id: str = ""
    # readiness / liveness bookkeeping
    r_next: float = 0.0
    r_ok: int = 0
    r_fail: int = 0
    l_next: float = 0.0
    l_fail: int = 0
    s_next: float = 0.0
    s_fail: int = 0
    startup_done: bool = True
    init: bool = False  # an init container: runs to completion before the others start
    env: dict[str, str] | None = None  # the running process's environment (exec probes too)
    pull_state_at: float = 0.0  # when ErrImagePull turns into ImagePullBackOff

    @property
    def name(self) -> str:
        return self.spec.get("name", "")

    @property
    def image(self) -> str:
        return self.spec.get("image", "")


def backoff(crashes: int, scale: float) -> float:
    """Wall seconds to wait before restart number ``crashes`` (10s doubling to 5 min)."""
    spec = min(BACKOFF_START * 2 ** max(0, crashes - 1), BACKOFF_MAX)
    return max(0.05, spec * scale)


def image_id(image: str) -> str:
    repo = image.split("@", 1)[0]
    if repo.rfind(":") > repo.rfind("/"):
        repo = repo[:repo.rfind(":")]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


class PodWorker:
    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.k = kubelet
        self.pod = pod
        md = pod["metadata"]
        self.ns, self.name, self.uid = md["namespace"], md["name"], md["uid"]
        spec = pod.get("spec", {})
        self.inits = [Container(copy.deepcopy(c), init=True)
                      for c in spec.get("initContainers") or []]
        self.containers = [Container(copy.deepcopy(c)) for c in spec.get("containers") or []]
        status = pod.get("status", {})
        for group, key in ((self.containers, "containerStatuses"),
                           (self.inits, "initContainerStatuses")):
            for c in group:  # keep counts across agent restarts
                for cs in status.get(key) or []:
                    if cs.get("name") == c.name:
                        c.restart_count = int(cs.get("restartCount") or 0)
                        term = (cs.get("state") or {}).get("terminated") or {}
                        if c.init and term.get("exitCode") == 0:  # done before we restarted
                            c.state, c.exit_code, c.ever_started = {"terminated": term}, 0, True
        if self.inits and not self._inits_done():
            for c in self.containers:
                c.state = {"waiting": {"reason": "PodInitializing"}}
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.delete_pod = False  # remove the Pod from the API once stopped
        self.shutdown_only = False  # agent shutdown: kill quietly, keep the API as it is
        self.ip = ""
        self.start_time = pod.get("status", {}).get("startTime") or rfc3339()
        self.conditions_since: dict[str, tuple[str, str]] = {}
        self.written: Obj | None = None
        self.write_retry_at = 0.0
        self.thread = threading.Thread(target=self._run, name=f"pod-{self.ns}/{self.name}",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def update(self, pod: Obj) -> None:
        self.pod = pod
        if is_terminating(pod):
            self.terminate(delete=True)
        self.wake.set()

    def terminate(self, delete: bool, quiet: bool = False) -> None:
        self.delete_pod = self.delete_pod or delete
        self.shutdown_only = quiet
        self.stopping.set()
        self.wake.set()

    # -- lifecycle ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._setup()
            while not self.stopping.is_set():
                try:
                    self._step()
                    self._flush()
                    timeout = self._sleep_for()
                except Exception:  # keep the pod's processes managed whatever went wrong
                    log.exception("pod %s/%s: sync failed; retrying", self.ns, self.name)
                    timeout = 1.0
                self.wake.wait(timeout)
                self.wake.clear()
        except Exception:
            log.exception("pod %s/%s: worker failed", self.ns, self.name)
        finally:
            self._teardown()

    def _setup(self) -> None:
        spec = self.pod.get("spec", {})
        if not spec.get("nodeName"):
            try:
                self.k.client.patch("v1", "Pod", self.name, {"spec": {"nodeName": NODE_NAME}},
                                    namespace=self.ns)
            except (ApiError, ApiUnavailable) as e:
                log.info("pod %s/%s: could not set nodeName: %s", self.ns, self.name, e)
            self.k.events.emit(self.pod, "Normal", "Scheduled",
                                f"Successfully assigned {self.ns}/{self.name} to {NODE_NAME}",
                                "default-scheduler")
        self.ip = self.k.ipam.allocate(self.uid, self.pod.get("status", {}).get("podIP"))
        log.info("pod %s/%s: scheduled, IP %s", self.ns, self.name, self.ip)
        self.pod.setdefault("status", {})["podIP"] = self.ip

    def _teardown(self) -> None:
        grace = self._grace()
        for c in self._all():
            if c.proc is None:
                continue
            if not self.shutdown_only:
                self.k.events.emit(self.pod, "Normal", "Killing",
                                    f"Stopping container {c.name}", "kubelet",
                                    self._field_path(c))
            pid = c.proc.pid
            code = stop_process(c.proc, 0.5 if self.shutdown_only else grace)
            self.k.procs.remove(pid)
            log.info("pod %s/%s: container %s stopped (pid %d, exit %s)", self.ns, self.name,
                     c.name, pid, code)
            c.proc = None
        if self.shutdown_only:
            return
        self.k.ipam.release(self.uid)
        incluster.unmount_service_account(self.k.sandbox_dir, self.ns, self.name)
        if self.delete_pod:
            self._remove_from_api()
        self.k.worker_done(self.uid)

    def _remove_from_api(self) -> None:
        path = f"/api/v1/namespaces/{self.ns}/pods/{self.name}"
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                "preconditions": {"uid": self.uid}}
        for attempt in range(5):
            try:
                self.k.client.request("DELETE", path, body=body)
                return
            except NotFound:
                return
            except ApiError as e:
                if e.code == 409:  # a new pod of the same name: not ours to delete
                    return
                log.warning("pod %s/%s: delete failed: %s", self.ns, self.name, e)
                return
            except ApiUnavailable:
                time.sleep(0.2 * (attempt + 1))

    def _sleep_for(self) -> float:
        now = time.monotonic()
        times = [now + 1.0]
        for c in self._all():
            if c.proc is None and not self._finished(c):
                times.append(c.retry_at)
                if c.pull_state_at:
                    times.append(c.pull_state_at)
            if c.proc is not None and not c.startup_done:
                times.append(c.s_next)
            elif c.proc is not None and not c.init:
                if self._readiness(c) or not c.ready:
                    times.append(c.r_next)
                if c.spec.get("livenessProbe"):
                    times.append(c.l_next)
        if self.write_retry_at:
            times.append(self.write_retry_at)
        return max(0.01, min(times) - now)

    # -- containers --------------------------------------------------------------------------

    def _field_path(self, c: Container) -> str:
        return f"spec.{'initContainers' if c.init else 'containers'}{{{c.name}}}"

    def _restart_policy(self) -> str:
        return self.pod.get("spec", {}).get("restartPolicy") or "Always"

    def _finished(self, c: Container) -> bool:
        """A container that exited and will not be restarted (restartPolicy)."""
        if "terminated" not in c.state:
            return False
        policy = self._restart_policy()
        if c.init:  # init containers rerun on failure unless the pod never restarts
            return c.exit_code == 0 or policy == "Never"
        return policy == "Never" or (policy == "OnFailure" and c.exit_code == 0)

    def _inits_done(self) -> bool:
        return all("terminated" in c.state and c.exit_code == 0 and c.proc is None
                   for c in self.inits)

    def _init_failed(self) -> bool:
        return any(self._finished(c) and c.exit_code != 0 for c in self.inits)

    def _all(self) -> list[Container]:
        return self.inits + self.containers

    def _readiness(self, c: Container) -> Obj | None:
        return c.spec.get("readinessProbe")

    def _step(self) -> None:
        now = time.monotonic()
        for c in self.inits:  # one at a time, in order, each to a successful exit
            if c.proc is not None and c.exited:
                self._on_exit(c, now)
            if self._finished(c) and c.exit_code == 0:
                continue
            if c.proc is None and not self._finished(c):
                self._pull_backoff(c, now)
                if now >= c.retry_at:
                    self._start(c, now)
            return
        for c in self.containers:
            if c.proc is not None and c.exited:
                self._on_exit(c, now)
            if c.proc is None:
                self._pull_backoff(c, now)
                if not self._finished(c) and now >= c.retry_at:
                    self._start(c, now)
            if c.proc is not None and not c.exited:
                self._probe(c, now)

    def _pull_backoff(self, c: Container, now: float) -> None:
        """ErrImagePull turns into ImagePullBackOff until the next pull attempt."""
        if not c.pull_state_at or now < c.pull_state_at:
            return
        c.pull_state_at = 0.0
        c.state = {"waiting": {"reason": "ImagePullBackOff",
                               "message": f'Back-off pulling image "{c.image}"'}}
        self.k.events.emit(self.pod, "Normal", "BackOff",
                            f'Back-off pulling image "{c.image}"', "kubelet",
                            self._field_path(c))
        self.k.events.emit(self.pod, "Warning", "Failed", "Error: ImagePullBackOff",
                            "kubelet", self._field_path(c))

    def _start(self, c: Container, now: float) -> None:
        pod = self.pod
        fp = self._field_path(c)
        warn = lambda msg: self.k.events.emit(pod, "Warning", "Failed", msg, "kubelet", fp)  # noqa: E731
        env_own = container_env(pod, c.spec, self.k.client, warn)
        cmd = [expand(str(a), env_own) for a in c.spec.get("command") or []] or None
        args = [expand(str(a), env_own) for a in c.spec.get("args") or []] or None
        try:
            run = self.k.resolve(c.image, cmd, args)
            error = None if run is not None else \
                f"image {c.image!r} is not known to the sandbox image registry"
        except ValueError as e:  # ImageConfigError: a broken user images file
            run, error = None, str(e)
        except Exception as e:  # the registry failing must look like a failed pull, not a crash
            log.exception("pod %s/%s: resolving image %s failed", self.ns, self.name, c.image)
            run, error = None, f"image registry error: {e}"
        if run is None:
            c.pull_failures += 1
            c.state = {"waiting": {"reason": "ErrImagePull",
                                   "message": f'failed to pull and unpack image "{c.image}": '
                                              f"{error}"}}
            c.pull_state_at = now + max(0.1, 1.0 * self.k.scale)
            c.retry_at = now + backoff(c.pull_failures, self.k.scale)
            self.k.events.emit(pod, "Normal", "Pulling", f'Pulling image "{c.image}"',
                                "kubelet", fp)
            self.k.events.emit(pod, "Warning", "Failed",
                                f'Failed to pull image "{c.image}": {error}', "kubelet", fp)
            self.k.events.emit(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet", fp)
            log.info("pod %s/%s: container %s: unknown image %s", self.ns, self.name, c.name,
                     c.image)
            return
        c.pull_state_at = 0.0
        env = dict(os.environ)
        env.update(run.env)
        port_env = images.declared_port_env(run.app, c.spec)
        env.update(port_env)
        if port_env:
            problem = podnet.privileged_port_problem([int(v) for v in port_env.values()])
            if problem:
                self.k.events.emit(pod, "Warning", "Failed", f"Error: {problem}", "kubelet",
                                    fp)
        env.update(self._pod_env())
        env.pop("KUBECONFIG", None)  # the node's, not the pod's: pods use their service account
        env.update(incluster.pod_env(self.k.sandbox_dir, pod))
        env.update(env_own)
        # localhost inside the pod is the pod (see podnet)
        env = podnet.preload_env(self.k.sandbox_dir / "node", env)
        c.env = env
        log_path = self.k.layout_pod_log(self.ns, self.name, c.name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if not c.ever_started and c.pull_failures == 0:
            self.k.events.emit(pod, "Normal", "Pulled",
                                f'Container image "{c.image}" already present on machine',
                                "kubelet", fp)
        elif not c.ever_started:
            self.k.events.emit(pod, "Normal", "Pulled",
                                f'Successfully pulled image "{c.image}"', "kubelet", fp)
        self.k.events.emit(pod, "Normal", "Created", f"Created container {c.name}", "kubelet",
                            fp)
        try:
            with open(log_path, "ab") as out:
                proc = subprocess.Popen(run.argv, cwd=run.cwd or None, env=env,
                                        stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except (OSError, ValueError, IndexError) as e:
            program = run.argv[0] if run.argv else "(empty command)"
            msg = (f"failed to create containerd task: exec: {program!r}: "
                   f"{getattr(e, 'strerror', None) or e}")
            c.last_state = {"terminated": {"exitCode": 128, "reason": "StartError",
                                           "message": msg, "startedAt": rfc3339(0),
                                           "finishedAt": rfc3339()}}
            c.exit_code = 128
            c.state = dict(c.last_state)
            self.k.events.emit(pod, "Warning", "Failed", f"Error: {msg}", "kubelet", fp)
            self._schedule_restart(c, now, ran_for=0.0)
            return
        if c.ever_started:
            c.restart_count += 1
        c.ever_started = True
        c.proc, c.exited, c.exit_code = proc, False, None
        c.started_at = time.time()
        c.container_id = "containerd://" + hashlib.sha256(
            f"{self.uid}/{c.name}/{c.restart_count}/{proc.pid}".encode()).hexdigest()
        c.state = {"running": {"startedAt": rfc3339(c.started_at)}}
        c.ready = False
        self._reset_probes(c, now)
        self.k.procs.add(proc, self.ns, self.name, self.uid, c.name)
        threading.Thread(target=self._wait, args=(c, proc), daemon=True,
                         name=f"wait-{proc.pid}").start()
        self.k.events.emit(pod, "Normal", "Started", f"Started container {c.name}", "kubelet",
                            fp)
        log.info("pod %s/%s: container %s started, pid %d: %s", self.ns, self.name, c.name,
                 proc.pid, " ".join(run.argv))

    def _wait(self, c: Container, proc: subprocess.Popen) -> None:
        code = proc.wait()
        if c.proc is proc:
            c.exit_code = code
            c.exited = True
            self.wake.set()

    def _pod_env(self) -> dict[str, str]:
        md = self.pod.get("metadata", {})
        return {"POD_IP": self.ip, "POD_NAME": self.name, "POD_NAMESPACE": self.ns,
                "HOSTNAME": self.name,
                "CANARY_SANDBOX_DIR": str(self.k.sandbox_dir),
                "CANARY_MESHED": "1" if self.k.is_meshed(md) else "0",
                "CANARY_TIME_SCALE": repr(self.k.scale)}

    def _on_exit(self, c: Container, now: float) -> None:
        proc = c.proc
        assert proc is not None
        self.k.procs.remove(proc.pid)
        code = c.exit_code if c.exit_code is not None else -1
        if code < 0:
            code = 128 - code  # killed by signal N: 128+N as container runtimes report
        c.exit_code = code
        finished = time.time()
        term = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                "startedAt": rfc3339(c.started_at), "finishedAt": rfc3339(finished),
                "containerID": c.container_id}
        log.info("pod %s/%s: container %s (pid %d) exited with %d", self.ns, self.name, c.name,
                 proc.pid, code)
        c.proc, c.ready = None, False
        c.state = {"terminated": term}
        if self._finished(c):
            return
        c.last_state = {"terminated": term}
        self._schedule_restart(c, now, ran_for=finished - c.started_at)

    def _schedule_restart(self, c: Container, now: float, ran_for: float) -> None:
        if ran_for > 2 * BACKOFF_MAX * self.k.scale:
            c.crashes = 0  # it ran long enough: forget earlier crashes
        c.crashes += 1
        if c.crashes == 1:
            c.retry_at = now  # the first restart is immediate
            return
        delay = backoff(c.crashes - 1, self.k.scale)
        c.retry_at = now + delay
        spec_delay = min(BACKOFF_START * 2 ** max(0, c.crashes - 2), BACKOFF_MAX)
        c.state = {"waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {_fmt(spec_delay)} restarting failed container={c.name} "
                       f"pod={self.name}_{self.ns}({self.uid})"}}
        self.k.events.emit(self.pod, "Warning", "BackOff",
                            f"Back-off restarting failed container {c.name} in pod "
                            f"{self.name}_{self.ns}({self.uid})", "kubelet", self._field_path(c))

    # -- probes ------------------------------------------------------------------------------

    def _reset_probes(self, c: Container, now: float) -> None:
        rp = self._readiness(c)
        c.r_ok = c.r_fail = c.l_fail = 0
        c.r_next = now + (probe_timing(rp, self.k.scale).initial_delay if rp else PORT_CHECK)
        lp = c.spec.get("livenessProbe")
        c.l_next = now + (probe_timing(lp, self.k.scale).initial_delay if lp else 0.0)
        sp = c.spec.get("startupProbe")
        c.startup_done, c.s_fail = sp is None, 0
        c.s_next = now + (probe_timing(sp, self.k.scale).initial_delay if sp else 0.0)

    def _startup_probe(self, c: Container, now: float) -> None:
        """Until the startup probe succeeds the other probes wait; too many failures restart."""
        sp = c.spec["startupProbe"]
        if now < c.s_next or c.proc is None:
            return
        t = probe_timing(sp, self.k.scale)
        ok, msg = run_probe(sp, c.spec, self.ip, t.timeout, c.env)
        c.s_next = time.monotonic() + t.period
        if ok:
            c.startup_done = True
            c.r_next = c.l_next = time.monotonic()
            return
        if self._starting(c):
            return
        c.s_fail += 1
        self.k.events.emit(self.pod, "Warning", "Unhealthy", f"Startup probe failed: {msg}",
                            "kubelet", self._field_path(c))
        if c.s_fail >= t.failure_threshold:
            self.k.events.emit(self.pod, "Normal", "Killing",
                                f"Container {c.name} failed startup probe, will be restarted",
                                "kubelet", self._field_path(c))
            stop_process(c.proc, self._grace())

    @staticmethod
    def _starting(c: Container) -> bool:
        """Within START_GRACE of its start a failing startup/liveness probe does not count: the
        time a program needs to start listening is not shrunk by the time scale (a scaled
        startup budget of 3 x 50 ms would restart a healthy Python server forever)."""
        return time.time() - c.started_at < START_GRACE

    def _grace(self) -> float:
        spec = self.pod.get("spec", {}).get("terminationGracePeriodSeconds")
        return min(MAX_GRACE, float(30 if spec is None else spec) * self.k.scale)

    def _probe(self, c: Container, now: float) -> None:
        if not c.startup_done:
            self._startup_probe(c, now)
            return
        rp = self._readiness(c)
        if rp is None:
            if not c.ready and now >= c.r_next:
                c.ready = self._port_open(c)
                c.r_next = now + PORT_CHECK
        elif now >= c.r_next:
            t = probe_timing(rp, self.k.scale)
            ok, msg = run_probe(rp, c.spec, self.ip, t.timeout, c.env)
            c.r_next = time.monotonic() + t.period
            if ok:
                c.r_fail, c.r_ok = 0, c.r_ok + 1
                if c.r_ok >= t.success_threshold:
                    c.ready = True
            else:
                c.r_ok, c.r_fail = 0, c.r_fail + 1
                if c.r_fail >= t.failure_threshold or not c.ready:
                    if c.ready:
                        log.info("pod %s/%s: container %s not ready: %s", self.ns, self.name,
                                 c.name, msg)
                    c.ready = False
                self.k.events.emit(self.pod, "Warning", "Unhealthy",
                                    f"Readiness probe failed: {msg}", "kubelet",
                                    self._field_path(c))
        lp = c.spec.get("livenessProbe")
        if lp is not None and now >= c.l_next and c.proc is not None:
            t = probe_timing(lp, self.k.scale)
            ok, msg = run_probe(lp, c.spec, self.ip, t.timeout, c.env)
            c.l_next = time.monotonic() + t.period
            if not ok and self._starting(c):
                return
            c.l_fail = 0 if ok else c.l_fail + 1
            if not ok:
                self.k.events.emit(self.pod, "Warning", "Unhealthy",
                                    f"Liveness probe failed: {msg}", "kubelet",
                                    self._field_path(c))
            if c.l_fail >= t.failure_threshold:
                self.k.events.emit(self.pod, "Normal", "Killing",
                                    f"Container {c.name} failed liveness probe, will be "
                                    "restarted", "kubelet", self._field_path(c))
                stop_process(c.proc, self._grace())  # the waiter thread reports the exit

    def _port_open(self, c: Container) -> bool:
        """Ready without a probe once the first declared port accepts connections (a sandbox
        convenience: real Kubernetes marks such a container ready as soon as it runs)."""
        ports = [p for p in c.spec.get("ports") or []
                 if (p.get("protocol") or "TCP") == "TCP" and p.get("containerPort")]
        if not ports:
            return True
        import socket
        try:
            with socket.create_connection((self.ip, int(ports[0]["containerPort"])),
                                          timeout=0.2):
                return True
        except OSError:
            return False

    # -- status ------------------------------------------------------------------------------

    def _condition(self, type_: str, ok: bool, reason: str = "", message: str = "") -> Obj:
        status = "True" if ok else "False"
        prev = self.conditions_since.get(type_)
        if prev is None or prev[0] != status:
            prev = (status, rfc3339())
            self.conditions_since[type_] = prev
        c: Obj = {"type": type_, "status": status, "lastProbeTime": None,
                  "lastTransitionTime": prev[1]}
        if not ok and reason:
            c["reason"], c["message"] = reason, message
        return c

    def _container_status(self, c: Container) -> Obj:
        cs: Obj = {"name": c.name, "image": c.image,
                   "imageID": image_id(c.image) if c.ever_started else "", "ready": c.ready,
                   "started": c.proc is not None and not c.exited and c.startup_done,
                   "restartCount": c.restart_count, "state": c.state,
                   "lastState": c.last_state}
        if c.container_id:
            cs["containerID"] = c.container_id
        return cs

    def build_status(self) -> Obj:
        statuses = [self._container_status(c) for c in self.containers]
        unready = [c.name for c in self.containers if not c.ready]
        all_ready = not unready
        inits_done = self._inits_done()
        if self._init_failed():
            phase = "Failed"
        elif self.containers and all(self._finished(c) for c in self.containers):
            phase = "Succeeded" if all(c.exit_code == 0 for c in self.containers) else "Failed"
        elif inits_done and any(c.ever_started for c in self.containers):
            phase = "Running"
        else:
            phase = "Pending"
        msg = f"containers with unready status: [{' '.join(unready)}]"
        incomplete = [c.name for c in self.inits
                      if not ("terminated" in c.state and c.exit_code == 0)]
        conditions = [
            self._condition("PodReadyToStartContainers", True),
            self._condition("Initialized", inits_done, "ContainersNotInitialized",
                            f"containers with incomplete status: [{' '.join(incomplete)}]"),
            self._condition("Ready", all_ready, "ContainersNotReady", msg),
            self._condition("ContainersReady", all_ready, "ContainersNotReady", msg),
            self._condition("PodScheduled", True),
        ]
        status = {"phase": phase, "conditions": conditions, "hostIP": HOST_IP,
                  "hostIPs": [{"ip": HOST_IP}], "podIP": self.ip, "podIPs": [{"ip": self.ip}],
                  "startTime": self.start_time, "containerStatuses": statuses,
                  "qosClass": self.pod.get("status", {}).get("qosClass") or "BestEffort"}
        if self.inits:
            status["initContainerStatuses"] = [self._container_status(c) for c in self.inits]
        return status

    def _flush(self) -> None:
        status = self.build_status()
        if status == self.written or self.stopping.is_set():
            return
        if self.write_retry_at and time.monotonic() < self.write_retry_at:
            return
        try:
            patched = self.k.client.patch_status("v1", "Pod", self.name, {"status": status},
                                                 namespace=self.ns)
        except NotFound:
            log.info("pod %s/%s: gone from the API; stopping", self.ns, self.name)
            self.terminate(delete=False)
            return
        except (ApiError, ApiUnavailable) as e:
            log.warning("pod %s/%s: status update failed: %s", self.ns, self.name, e)
            self.write_retry_at = time.monotonic() + 0.5
            return
        if patched.get("metadata", {}).get("uid") not in (None, self.uid):
            self.terminate(delete=False)
            return
        self.write_retry_at = 0.0
        self.written = status
        self.k.pods.write_through(patched)
        summary = ", ".join(f"{c['name']}={next(iter(c['state']), '?')}"
                            f"{'/ready' if c['ready'] else ''}"
                            for c in status["containerStatuses"])
        log.info("pod %s/%s: %s %s (%s)", self.ns, self.name, status["phase"],
                 "Ready" if status["conditions"][2]["status"] == "True" else "NotReady", summary)


def _fmt(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60}s" if s >= 60 else f"{s}s"


class Kubelet:
    def __init__(self, client: KubeClient, pods: Informer, namespaces: Informer,
                 events: EventRecorder, ipam: IPAM, procs: ProcessTable, sandbox_dir: Path,
                 scale: float, resolve: Resolver, stop: threading.Event) -> None:
        self.client = client
        self.pods = pods
        self.namespaces = namespaces
        self.events = events
        self.ipam = ipam
        self.procs = procs
        self.sandbox_dir = sandbox_dir
        self.scale = scale
        self.resolve = resolve
        self.stop = stop
        self._lock = threading.Lock()
        self._workers: dict[str, PodWorker] = {}
        self._closing = False
        pods.add_handler(self._on_pod)

    def layout_pod_log(self, ns: str, pod: str, container: str) -> Path:
        return SandboxLayout(self.sandbox_dir).pod_log(ns, pod, container)

    def is_meshed(self, md: Obj) -> bool:
        if (md.get("annotations") or {}).get(INJECT) == "enabled":
            return True
        ns = self.namespaces.get(("", md.get("namespace") or ""))
        return bool(ns) and annotations_of(ns).get(INJECT) == "enabled"

    def _on_pod(self, typ: str, pod: Obj, old: Obj | None) -> None:
        uid = pod["metadata"].get("uid", "")
        with self._lock:
            if self._closing:
                return
            w = self._workers.get(uid)
            if typ == "DELETED":
                if w is not None:
                    log.info("pod %s/%s deleted; stopping its containers",
                             pod["metadata"].get("namespace"), pod["metadata"].get("name"))
                    w.terminate(delete=False)
                return
            if w is not None:
                w.update(pod)
                return
            if HOST_PROCESS in ((pod["metadata"].get("annotations")) or {}):
                return  # a sandbox component the manager runs (system_pods)
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") \
                    and not is_terminating(pod):
                return  # finished before we (re)started: nothing to run
            w = PodWorker(self, pod)
            self._workers[uid] = w
            if is_terminating(pod):
                w.terminate(delete=True)
        w.start()

    def worker_done(self, uid: str) -> None:
        with self._lock:
            self._workers.pop(uid, None)

    def shutdown(self) -> None:
        """Stop every pod's processes (agent exit): the pods stay in the API as they are."""
        with self._lock:
            self._closing = True
            workers = list(self._workers.values())
        for w in workers:
            w.terminate(delete=False, quiet=True)
        for w in workers:
            w.thread.join(timeout=5)
