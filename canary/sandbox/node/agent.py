"""The node agent: wires informers, controllers and the kubelet together and runs them."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path

from canary.kube.client import KubeClient, KubeConfig
from canary.kube.events import EventRecorder
from canary.kube.informer import Informer

from .deployments import DeploymentController
from .endpoints import EndpointsController
from .ipam import IPAM
from .objects import Obj, annotations_of, controller_ref
from .pods import INJECT, Kubelet
from .processes import ProcessTable
from .replicasets import ReplicaSetController

log = logging.getLogger("canary.node")


class ConfigError(Exception):
    """The sandbox directory cannot be used (message says why)."""


def read_config(sandbox_dir: Path) -> dict:
    path = sandbox_dir / "config.json"
    try:
        cfg = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from None
    if not cfg.get("api_port"):
        raise ConfigError(f"{path}: api_port missing (is the API server running?)")
    scale = cfg.get("time_scale", 1.0)
    if not isinstance(scale, int | float) or scale <= 0:
        raise ConfigError(f"{path}: time_scale must be a positive number, got {scale!r}")
    return cfg


class NodeAgent:
    def __init__(self, sandbox_dir: Path, config: dict) -> None:
        self.dir = sandbox_dir
        self.scale = float(config.get("time_scale", 1.0))
        server = f"http://127.0.0.1:{config['api_port']}"
        self.client = KubeClient(KubeConfig(server=server, token=config.get("token")))
        self.stop = threading.Event()
        self._resolve_lock = threading.Lock()
        node_dir = sandbox_dir / "node"
        node_dir.mkdir(parents=True, exist_ok=True)
        (sandbox_dir / "logs" / "pods").mkdir(parents=True, exist_ok=True)
        self.procs = ProcessTable(node_dir / "processes.json")
        self.ipam = IPAM(node_dir / "ipam.json")
        inf = lambda av, kind: Informer(self.client, av, kind, self.stop)  # noqa: E731
        self.deployments = inf("apps/v1", "Deployment")
        self.replicasets = inf("apps/v1", "ReplicaSet")
        self.pods = inf("v1", "Pod")
        self.services = inf("v1", "Service")
        self.endpoints = inf("v1", "Endpoints")
        self.slices = inf("discovery.k8s.io/v1", "EndpointSlice")
        self.namespaces = inf("v1", "Namespace")
        self.informers = [self.namespaces, self.deployments, self.replicasets, self.pods,
                          self.services, self.endpoints, self.slices]
        self.events = EventRecorder(self.client, "kubelet")  # controllers name their own
        self.deploy_ctrl = DeploymentController(self.client, self.deployments, self.replicasets,
                                                self.pods, self.events, self.scale, self.stop)
        self.rs_ctrl = ReplicaSetController(self.client, self.replicasets, self.pods,
                                            self.events, self.stop, labeler=self._mesh_labels,
                                            scale=self.scale)
        self.ep_ctrl = EndpointsController(self.client, self.services, self.pods,
                                           self.endpoints, self.slices, self.stop)
        self.kubelet = Kubelet(self.client, self.pods, self.namespaces, self.events, self.ipam,
                               self.procs, sandbox_dir, self.scale, self._resolve, self.stop)

    def _resolve(self, image: str, command: list[str] | None, args: list[str] | None):
        from canary.sandbox.images import resolve_image
        with self._resolve_lock:  # the registry (re)writes shim files: one caller at a time
            return resolve_image(image, command, args, sandbox_dir=self.dir)

    def _mesh_labels(self, rs: Obj, template: Obj) -> dict[str, str]:
        """Labels Linkerd's proxy injector adds to meshed pods at creation."""
        ns = rs["metadata"]["namespace"]
        tmd = template.get("metadata") or {}
        ns_obj = self.namespaces.get(("", ns)) or {}
        meshed = (tmd.get("annotations") or {}).get(INJECT) == "enabled" or (
            annotations_of(ns_obj).get(INJECT) == "enabled"
            and (tmd.get("annotations") or {}).get(INJECT) != "disabled")
        if not meshed:
            return {}
        labels = {"linkerd.io/control-plane-ns": "linkerd", "linkerd.io/workload-ns": ns}
        ref = controller_ref(rs)
        if ref and ref.get("kind") == "Deployment":
            labels["linkerd.io/proxy-deployment"] = ref["name"]
        return labels

    def _follow_config(self) -> None:
        """Follow a restarted API server to its new port/token (pods keep running meanwhile)."""
        while not self.stop.wait(1.0):
            try:
                cfg = json.loads((self.dir / "config.json").read_text())
            except (OSError, ValueError):
                continue
            server = f"http://127.0.0.1:{cfg.get('api_port')}"
            token = cfg.get("token")
            if not cfg.get("api_port") or (server, token) == (self.client.config.server,
                                                              self.client.config.token):
                continue
            log.info("API server moved to %s; reconnecting", server)
            self.client.config.server = server
            self.client.config.token = token
            self.client._local = threading.local()  # fresh sessions carry the new token

    def run(self) -> None:
        threading.Thread(target=self._follow_config, name="config", daemon=True).start()
        stale = self.procs.kill_stale()
        if stale:
            log.info("killed %d process(es) left by a previous agent run", stale)
        self.events.start(self.stop)
        for i in self.informers:
            i.start()
        deadline = time.monotonic() + 30
        while not all(i.has_synced() for i in self.informers):
            if self.stop.wait(0.05) or time.monotonic() > deadline:
                break
        if self.pods.has_synced():
            self.ipam.retain_only({p["metadata"].get("uid", "") for p in self.pods.list()})
        log.info("node agent running (time scale %s, API %s)", self.scale,
                 self.client.config.server)
        workers = [threading.Thread(target=c.run, name=n, daemon=True) for n, c in
                   (("deployment-controller", self.deploy_ctrl),
                    ("replicaset-controller", self.rs_ctrl),
                    ("endpoints-controller", self.ep_ctrl))]
        for w in workers:
            w.start()
        self.stop.wait()
        log.info("node agent stopping: stopping pod processes")
        for q in (self.deploy_ctrl.queue, self.rs_ctrl.queue, self.ep_ctrl.queue):
            q.shutdown()
        self.kubelet.shutdown()
        log.info("node agent stopped")

    def request_stop(self, *_: object) -> None:
        self.stop.set()


def main(sandbox_dir: Path, wait: float = 30.0) -> int:
    deadline = time.monotonic() + wait
    while True:  # the launcher may start us while the API server is still coming up
        try:
            config = read_config(sandbox_dir)
            break
        except ConfigError as e:
            if time.monotonic() > deadline:
                log.error("%s", e)
                return 2
            time.sleep(0.2)
    agent = NodeAgent(sandbox_dir, config)
    signal.signal(signal.SIGTERM, agent.request_stop)
    signal.signal(signal.SIGINT, agent.request_stop)
    agent.run()
    return 0
