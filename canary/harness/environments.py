"""Where features run: the Docker-free ``sandbox`` (default), a ``kind`` cluster, or an
``existing`` cluster. One interface, so every step is written once.

Every environment gives: a kubeconfig file (the steps run the stock ``kubectl`` with it, as a
user would), a :class:`~canary.kube.client.KubeClient`, in-cluster URL resolution
(``http://prometheus.linkerd-viz:9090`` -> something this process can reach), a URL for a pod's
port, pod logs for diagnostics, and optionally the bundled engine as a process.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from canary.harness.engine_process import EngineProcess, engine_command
from canary.harness.timescale import warn_time_scale
from canary.kube.client import KubeClient

PROMETHEUS_URL = "http://prometheus.linkerd-viz:9090"
GATEWAY_API_VERSION = "v1.2.1"
GATEWAY_API_CRDS = ("https://github.com/kubernetes-sigs/gateway-api/releases/download/"
                    f"{GATEWAY_API_VERSION}/standard-install.yaml")
FLAGGER_KUSTOMIZE = "github.com/fluxcd/flagger//kustomize/linkerd"
ARGO_INSTALL = ("https://github.com/argoproj/argo-rollouts/releases/latest/download/install.yaml")
IMPLEMENTATIONS = ("bundled", "flagger", "argo-rollouts")
Pipeline = list[list[str]]  # one shell pipeline: argv of each stage


class EnvironmentUnavailable(RuntimeError):
    """The environment cannot be used; the message says why and what to do."""


def crd_dirs(rootdir: Path | None = None) -> list[Path]:
    """Where the engine's CRDs live: the manifests packaged with ``canary.fixtures``."""
    from canary.harness.manifests import MANIFEST_DIR

    return [MANIFEST_DIR / "crds"]


class Environment:
    name = "abstract"

    def __init__(self, time_scale: float, workdir: Path) -> None:
        self.time_scale = time_scale
        self.workdir = workdir
        self.kubeconfig: Path = workdir / "kubeconfig"
        self._engine: EngineProcess | None = None
        self._engine_log: Path | None = None
        self.engine_wrapper: Path | None = None
        self._client: KubeClient | None = None
        # used, not owned: another pytest process (the pytest-xdist controller) started it
        self.attached = False

    @property
    def engine(self) -> EngineProcess | None:
        """The bundled engine watching this environment; attached, whichever one runs now
        (another process's scenario may have restarted it since)."""
        if self.attached and self._engine_log is not None:
            return EngineProcess.adopt(self._engine_log)
        return self._engine

    @engine.setter
    def engine(self, engine: EngineProcess | None) -> None:
        self._engine = engine
        if engine is not None:
            self._engine_log = engine.log_path

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.engine is not None and not self.attached:
            log = self.engine.log_path
            self.engine.stop()
            replacement = EngineProcess.adopt(log)  # one a worker's scenario started instead
            if replacement is not None:
                replacement.stop()
        self.engine = None

    def attach_info(self) -> dict[str, Any]:
        """What another pytest process needs to use this environment (:func:`attach`)."""
        return {"name": self.name, "time_scale": self.time_scale, "workdir": str(self.workdir),
                "kubeconfig": str(self.kubeconfig),
                "engine_log": str(self.engine.log_path) if self.engine else None,
                "implementation": getattr(self, "implementation", "bundled"),
                "offline_manifests": self.offline_manifests}

    # -- access -----------------------------------------------------------------------------
    def client(self) -> KubeClient:
        if self._client is None:
            self._client = KubeClient.from_kubeconfig(str(self.kubeconfig))
        return self._client

    def env_vars(self) -> dict[str, str]:
        """The environment of commands a feature runs: this cluster's kubeconfig, and the
        ``linkerd`` shim at the end of PATH (``linkerd viz stat``; a real linkerd wins)."""
        from canary.harness.linkerd_cli import EXECUTABLE, install_linkerd_shim, path_appended

        bin_dir = Path(self.workdir) / "harness-bin"
        if not (bin_dir / EXECUTABLE).exists():
            install_linkerd_shim(bin_dir)
        return path_appended(bin_dir, dict(os.environ, KUBECONFIG=str(self.kubeconfig)))

    def kubectl(self, args: Sequence[str], input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True,
                              env=self.env_vars(), timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n"
                                 f"{proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    # serve the tutorial's well-known URLs from the packaged copies (the sandbox always;
    # elsewhere only with --canary-offline-manifests: a real cluster normally has the network)
    offline_manifests = False

    def rewrite_command(self, command: str) -> str:
        if not self.offline_manifests:
            return command
        from canary.harness.manifests import local_url_map, rewrite_install_commands

        command = rewrite_install_commands(command)
        for url, path in local_url_map().items():
            command = command.replace(url, str(path))
        return command

    def shell(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command line from a feature as a user would, with this cluster's kubeconfig."""
        return subprocess.run(["/bin/sh", "-c", self.rewrite_command(command)],
                              capture_output=True, text=True, env=self.env_vars(),
                              timeout=timeout)

    def resolve_url(self, url: str, namespace: str | None = None) -> str:
        return url

    def namespace_deleted(self, namespace: str) -> None:
        """Hook: the scenario deleted this namespace (drop anything that pointed into it)."""

    def pod_url(self, pod: dict[str, Any], port: int) -> str:
        return f"http://{pod['status']['podIP']}:{port}"

    def prometheus_url(self) -> str | None:
        try:
            return self.resolve_url(PROMETHEUS_URL)
        except Exception:  # noqa: BLE001 - no Prometheus means no success-rate samples
            return None

    def pod_logs(self, namespace: str) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            pods = self.client().items("v1", "Pod", namespace)
        except Exception:  # noqa: BLE001 - diagnostics are best effort
            return out
        for pod in pods:
            name = pod["metadata"]["name"]
            p = self.kubectl(["-n", namespace, "logs", name, "--all-containers", "--tail", "200"],
                             check=False, timeout=20)
            out[f"pod {namespace}/{name}"] = p.stdout or p.stderr
        return out

    def start_engine(self) -> EngineProcess | None:
        return None

    def describe(self) -> dict[str, str]:
        return {"environment": self.name, "time scale": f"{self.time_scale:g}"}


def apply_crds(env: Environment, rootdir: Path | None, timeout: float = 30.0) -> list[str]:
    """Apply the engine's CRDs (Canary, MetricTemplate, Rollout, HTTPRoute...) and wait until
    the API serves them."""
    applied: list[str] = []
    for d in crd_dirs(rootdir):
        for f in sorted(d.glob("*.yaml")):
            env.kubectl(["apply", "-f", str(f)])
            applied.append(str(f))
    client = env.client()
    deadline = time.monotonic() + timeout
    while applied:
        client.forget_resources()
        try:
            client.resource("flagger.app/v1beta1", "Canary")
            break
        except Exception:  # noqa: BLE001 - not served yet
            if time.monotonic() > deadline:
                raise EnvironmentUnavailable("the Canary CRD was applied but is not served after "
                                        f"{timeout:.0f}s") from None
            time.sleep(0.1)
    return applied


# -- sandbox ----------------------------------------------------------------------------------


class SandboxEnvironment(Environment):
    name = "sandbox"

    def __init__(self, time_scale: float, workdir: Path, rootdir: Path | None = None,
                 keep: bool = False) -> None:
        super().__init__(time_scale, workdir)
        self.rootdir = rootdir
        self.keep = keep
        self.sandbox: Any = None

    def start(self) -> None:
        try:
            from canary.sandbox.manager import Sandbox
        except ImportError as e:
            raise EnvironmentUnavailable(f"the sandbox is not available in this build ({e})") from e
        if shutil.which("kubectl") is None:
            raise EnvironmentUnavailable("kubectl is not on PATH; the steps run the stock kubectl "
                                    "as the tutorial does (install kubectl >= 1.28)")
        self.sandbox = Sandbox.start(self.workdir, time_scale=self.time_scale)
        warn_time_scale(self.time_scale)
        self.kubeconfig = Path(self.sandbox.kubeconfig)
        apply_crds(self, self.rootdir)

    def stop(self) -> None:
        super().stop()
        if self.sandbox is not None and not self.keep and not self.attached:
            self.sandbox.stop()
        self.sandbox = None

    def client(self) -> KubeClient:
        if self._client is None:
            self._client = self.sandbox.client()
        return self._client

    def resolve_url(self, url: str, namespace: str | None = None) -> str:
        return self.sandbox.resolve_url(url, namespace)

    offline_manifests = True  # no network: the known tutorial URLs come from packaged copies

    def pod_logs(self, namespace: str) -> dict[str, str]:
        out: dict[str, str] = {}
        logs = Path(self.sandbox.layout.pod_logs)
        for f in sorted(logs.glob(f"{namespace}_*.log")):
            try:
                out[f"pod log {f.name}"] = f.read_text(errors="replace")[-20_000:]
            except OSError:
                continue
        return out

    def start_engine(self) -> EngineProcess:
        cmd = engine_command(self.kubeconfig, self.time_scale,
                             sandbox_dir=Path(self.sandbox.layout.root),
                             wrapper=self.engine_wrapper)
        # assigned before it starts, so an interrupt during the settle wait still stops it
        engine = self.engine = EngineProcess(cmd, Path(self.sandbox.layout.log("engine")))
        return engine.start()

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "sandbox dir": str(self.workdir)}


def attach(info: dict[str, Any], rootdir: Path | None = None) -> Environment:
    """The environment another pytest process started (see :meth:`Environment.attach_info`):
    used as is, never stopped from here; its engine can be stopped and restarted."""
    workdir = Path(info["workdir"])
    env: Environment
    if info["name"] == "sandbox":
        from canary.sandbox.layout import SandboxLayout
        from canary.sandbox.manager import Sandbox

        sb = SandboxEnvironment(info["time_scale"], workdir, rootdir)
        sb.sandbox = Sandbox(SandboxLayout.at(workdir))
        sb.kubeconfig = Path(sb.sandbox.kubeconfig)
        env = sb
    else:
        cluster = ClusterEnvironment(info["time_scale"], workdir, info["implementation"], rootdir)
        cluster.name = info["name"]
        cluster.kubeconfig = Path(info["kubeconfig"])
        cluster.forwards = PortForwards(cluster.env_vars())
        env = cluster
    env.attached = True
    env.offline_manifests = info["offline_manifests"]
    if info.get("engine_log"):
        env._engine_log = Path(info["engine_log"])
    return env


# -- port-forwarding (kind and existing clusters) ------------------------------------------------

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


def port_forward_command(target: str, namespace: str, remote_port: int) -> list[str]:
    """``kubectl port-forward`` to a random local port on 127.0.0.1 only."""
    return ["kubectl", "-n", namespace, "port-forward", "--address", "127.0.0.1", target,
            f"0:{remote_port}"]


def parse_forwarded_port(line: str) -> int | None:
    m = _FORWARDING.search(line)
    return int(m.group(1)) if m else None


class PortForwards:
    """Long-lived ``kubectl port-forward`` processes, one per (namespace, target, port)."""

    def __init__(self, env_vars: dict[str, str]) -> None:
        self.env_vars = env_vars
        self._procs: dict[tuple[str, str, int], tuple[subprocess.Popen[str], int]] = {}
        self._lock = threading.Lock()

    def local_port(self, namespace: str, target: str, port: int, timeout: float = 20) -> int:
        key = (namespace, target, port)
        with self._lock:
            hit = self._procs.get(key)
            if hit and hit[0].poll() is None:
                return hit[1]
            proc = subprocess.Popen(port_forward_command(target, namespace, port),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    env=self.env_vars, start_new_session=True)
            deadline = time.monotonic() + timeout
            assert proc.stdout is not None
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line and proc.poll() is not None:
                    break
                local = parse_forwarded_port(line)
                if local:
                    self._procs[key] = (proc, local)
                    return local
            proc.kill()
            raise EnvironmentUnavailable(f"kubectl port-forward {target} -n {namespace} {port} did "
                                    f"not come up within {timeout:.0f}s")

    def forget(self, namespace: str) -> None:
        """End the forwards into a namespace that is being deleted: a forward keeps its first
        pod, and a namespace re-created under the same name has new ones."""
        with self._lock:
            for key in [k for k in self._procs if k[0] == namespace]:
                proc, _ = self._procs.pop(key)
                proc.terminate()

    def close(self) -> None:
        with self._lock:
            for proc, _ in self._procs.values():
                proc.terminate()
            for proc, _ in self._procs.values():
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            self._procs.clear()


def split_service_url(url: str, namespace: str | None) -> tuple[str, str, int, str]:
    """``http://prometheus.linkerd-viz:9090/x`` -> (service, namespace, port, rest of URL)."""
    u = urllib.parse.urlsplit(url)
    host = u.hostname or ""
    parts = host.split(".")
    svc = parts[0]
    ns = parts[1] if len(parts) > 1 else (namespace or "default")
    port = u.port or (443 if u.scheme == "https" else 80)
    rest = u.path + (f"?{u.query}" if u.query else "")
    return svc, ns, port, rest


class ClusterEnvironment(Environment):
    """A real cluster reached by kubeconfig; in-cluster URLs go through port-forwards."""

    def __init__(self, time_scale: float, workdir: Path, implementation: str = "bundled",
                 rootdir: Path | None = None) -> None:
        super().__init__(time_scale, workdir)
        self.implementation = implementation
        self.rootdir = rootdir
        self.forwards: PortForwards | None = None

    def resolve_url(self, url: str, namespace: str | None = None) -> str:
        assert self.forwards is not None
        svc, ns, port, rest = split_service_url(url, namespace)
        local = self.forwards.local_port(ns, f"svc/{svc}", port)
        return f"http://127.0.0.1:{local}{rest}"

    def namespace_deleted(self, namespace: str) -> None:
        if self.forwards is not None:
            self.forwards.forget(namespace)

    def pod_url(self, pod: dict[str, Any], port: int) -> str:
        assert self.forwards is not None
        md = pod["metadata"]
        local = self.forwards.local_port(md["namespace"], f"pod/{md['name']}", port)
        return f"http://127.0.0.1:{local}"

    def start_engine(self) -> EngineProcess | None:
        if self.implementation != "bundled":
            return None  # real Flagger / Argo Rollouts run in the cluster
        cmd = engine_command(self.kubeconfig, self.time_scale,
                             metrics_override=self.prometheus_url(), wrapper=self.engine_wrapper)
        engine = self.engine = EngineProcess(cmd, self.workdir / "engine.log")
        return engine.start()

    def stop(self) -> None:
        super().stop()
        if self.forwards is not None:
            self.forwards.close()


# -- existing cluster ---------------------------------------------------------------------------


def minify_kubeconfig_command(kubeconfig: str | None, context: str | None) -> list[str]:
    cmd = ["kubectl", "config", "view", "--minify", "--flatten", "--raw"]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    if context:
        cmd += ["--context", context]
    return cmd


class ExistingEnvironment(ClusterEnvironment):
    name = "existing"

    def __init__(self, time_scale: float, workdir: Path, kubeconfig: str | None,
                 context: str | None, allowed: bool, implementation: str = "bundled",
                 rootdir: Path | None = None) -> None:
        super().__init__(time_scale, workdir, implementation, rootdir)
        self.source_kubeconfig = kubeconfig
        self.context = context
        self.allowed = allowed

    def start(self) -> None:
        if not self.allowed:
            raise EnvironmentUnavailable(
                "refusing to run against an existing cluster without --allow-existing-cluster: "
                "scenarios create and delete namespaces (e.g. `test`) and apply CRDs there")
        # A private, single-context copy: shell steps then need no --context and the user's
        # kubeconfig (and its current-context) is never touched.
        self.workdir.mkdir(parents=True, exist_ok=True)
        for path in (self.source_kubeconfig or "").split(os.pathsep):
            if path and not Path(path).expanduser().is_file():
                raise EnvironmentUnavailable(f"--kubeconfig {path} does not exist")
        p = subprocess.run(minify_kubeconfig_command(self.source_kubeconfig, self.context),
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise EnvironmentUnavailable(f"cannot read kubeconfig/context: {p.stderr.strip()}")
        self.kubeconfig = self.workdir / "kubeconfig"
        self.kubeconfig.write_text(p.stdout)
        self.kubeconfig.chmod(0o600)
        self.forwards = PortForwards(self.env_vars())
        if self.implementation == "bundled":
            apply_crds(self, self.rootdir)

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "context": self.context or "(current)",
                "implementation": self.implementation}


# -- kind ---------------------------------------------------------------------------------------


def kind_setup_plan(implementation: str = "bundled", *,
                    gateway_api_crds: str = GATEWAY_API_CRDS,
                    crd_files: Sequence[Path] = (),
                    engine: Sequence[Pipeline] = ()) -> list[Pipeline]:
    """Every command that prepares a fresh kind cluster, in order (unit-tested; not run here,
    no Docker). ``engine``: for the bundled implementation, what deploys it in-cluster
    (:func:`canary.harness.kind_engine.engine_plan`)."""
    plan: list[Pipeline] = [
        [["kubectl", "apply", "--server-side", "-f", gateway_api_crds]],
        [["linkerd", "install", "--crds"], ["kubectl", "apply", "-f", "-"]],
        [["linkerd", "install"], ["kubectl", "apply", "-f", "-"]],
        [["linkerd", "check"]],
        [["linkerd", "viz", "install"], ["kubectl", "apply", "-f", "-"]],
        [["kubectl", "-n", "linkerd-viz", "rollout", "status", "deploy/prometheus",
          "--timeout=300s"]],
        [["linkerd", "viz", "check"]],
    ]
    if implementation == "bundled":
        plan += [[["kubectl", "apply", "-f", str(f)]] for f in crd_files]
        plan += list(engine)
    elif implementation == "flagger":
        plan += [[["kubectl", "apply", "-k", FLAGGER_KUSTOMIZE]],
                 [["kubectl", "-n", "flagger-system", "rollout", "status", "deploy/flagger",
                   "--timeout=300s"]]]
    elif implementation == "argo-rollouts":
        plan += [[["kubectl", "create", "namespace", "argo-rollouts"]],
                 [["kubectl", "apply", "-n", "argo-rollouts", "-f", ARGO_INSTALL]],
                 [["kubectl", "-n", "argo-rollouts", "rollout", "status",
                   "deploy/argo-rollouts", "--timeout=300s"]]]
    else:
        raise ValueError(f"--implementation: unknown {implementation!r}; "
                         f"choose one of {', '.join(IMPLEMENTATIONS)}")
    return plan


def run_pipeline(pipeline: Pipeline, env: dict[str, str], timeout: float = 600) -> str:
    """Run ``a | b | c`` without a shell; raise with the failing stage's stderr."""
    import tempfile

    procs: list[tuple[subprocess.Popen[bytes], Any]] = []
    prev = None
    try:
        for argv in pipeline:
            err = tempfile.TemporaryFile()
            p = subprocess.Popen(argv, stdin=prev, stdout=subprocess.PIPE, stderr=err, env=env)
            if prev is not None:
                prev.close()  # the next stage owns it now
            prev = p.stdout
            procs.append((p, err))
        out, _ = procs[-1][0].communicate(timeout=timeout)
        # Like `set -o pipefail`, but name the stage that really failed: an earlier stage
        # killed by SIGPIPE only failed because a later one stopped reading.
        stages = list(zip(pipeline, procs, strict=True))
        for _, (p, _) in stages:
            p.wait(timeout)
        failed = [st for st in stages if st[1][0].returncode != 0]
        real = [st for st in failed if st[1][0].returncode != -signal.SIGPIPE] or failed
        for argv, (p, err) in real[-1:]:
            if p.returncode != 0:
                err.seek(0)
                msg = err.read().decode(errors="replace").strip()
                line = " | ".join(" ".join(a) for a in pipeline)
                raise EnvironmentUnavailable(f"`{line}` failed at `{' '.join(argv)}` "
                                             f"(exit {p.returncode}): {msg}")
        return out.decode(errors="replace")
    finally:
        for p, err in procs:
            if p.poll() is None:
                p.kill()
            err.close()


def kind_missing_tools() -> list[str]:
    return [t for t in ("docker", "kind", "kubectl", "linkerd") if shutil.which(t) is None]


class KindEnvironment(ClusterEnvironment):
    name = "kind"

    def __init__(self, time_scale: float, workdir: Path, implementation: str = "bundled",
                 rootdir: Path | None = None, cluster_name: str = "canary-harness",
                 keep: bool = False) -> None:
        super().__init__(time_scale, workdir, implementation, rootdir)
        self.cluster_name = cluster_name
        self.keep = keep
        self.cluster: Any = None
        # the bundled engine's in-cluster installs (rendered at start), by controller
        self.engine_installs: dict[str, Path] = {}

    def start(self) -> None:
        missing = kind_missing_tools()
        if missing:
            raise EnvironmentUnavailable(f"the kind environment needs {', '.join(missing)} on PATH "
                                    f"(and a running Docker); see docs/harness.md")
        try:
            from pytest_kind import KindCluster
        except ImportError as e:
            raise EnvironmentUnavailable("the kind environment needs pytest-kind: "
                                    "pip install 'canary[kind]'") from e
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cluster = KindCluster(self.cluster_name, self.workdir / "kubeconfig",
                                   kind_path=Path(shutil.which("kind") or "kind"),
                                   kubectl_path=Path(shutil.which("kubectl") or "kubectl"))
        self.cluster.create()
        self.kubeconfig = Path(self.cluster.kubeconfig_path)
        crd_files = [f for d in crd_dirs(self.rootdir) for f in sorted(d.glob("*.yaml"))]
        engine: list[Pipeline] = []
        if self.implementation == "bundled":
            engine = self._engine_plan()
        for pipeline in kind_setup_plan(self.implementation, crd_files=crd_files, engine=engine):
            run_pipeline(pipeline, self.env_vars())
        self.forwards = PortForwards(self.env_vars())

    def _engine_plan(self) -> list[Pipeline]:
        """Build, load and install the bundled engine as the two controllers' Deployments."""
        import canary
        from canary.harness import kind_engine as K

        try:
            source = K.source_checkout([self.rootdir,
                                        Path(canary.__file__).resolve().parents[1]])
        except K.NoSourceCheckout as e:
            raise EnvironmentUnavailable(str(e)) from None
        self.engine_installs = K.write_installs(self.workdir)
        return K.engine_plan(source, self.cluster_name, self.engine_installs, self.time_scale)

    def start_engine(self) -> EngineProcess | None:
        """On kind the bundled engine runs in-cluster (deployed at start), not as a process."""
        return None

    def engine_stand_down_plan(self) -> list[Pipeline]:
        """For a scenario that installs a controller itself (the tutorial features): the
        in-cluster engine's namespaces deleted, so the tutorial's `kubectl create namespace
        argo-rollouts` and its installs meet a cluster without them (the cluster-scoped CRDs and
        RBAC stay, shared); :meth:`engine_restore_plan` puts them back."""
        from canary.harness.kind_engine import CONTROLLERS

        namespaces = [CONTROLLERS[which][2] for which in self.engine_installs]
        return [[["kubectl", "delete", "namespace", *namespaces, "--ignore-not-found",
                  "--wait=true", "--timeout=300s"]]] if namespaces else []

    def engine_restore_plan(self) -> list[Pipeline]:
        from canary.harness.kind_engine import CONTROLLERS

        plan: list[Pipeline] = []
        for which, path in self.engine_installs.items():
            ns, name = CONTROLLERS[which][2], CONTROLLERS[which][3]
            plan += [[["sh", "-c", f"kubectl create namespace {ns} 2>/dev/null || true"]],
                     [["kubectl", "apply", "-n", ns, "-f", str(path)]],
                     [["kubectl", "-n", ns, "rollout", "status", f"deploy/{name}",
                       "--timeout=300s"]]]
        return plan

    def stop(self) -> None:
        super().stop()
        if self.cluster is not None and not self.keep:
            self.cluster.delete()

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "cluster": self.cluster_name,
                "implementation": self.implementation}
