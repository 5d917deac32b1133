"""Start, stop and inspect the Docker-free sandbox: ``canary sandbox up|down|status|port-forward``.

The sandbox is four kinds of process, each in its own session so that ``down`` can stop it and
everything it started by process group: the API server, the node agent (which runs the pods),
the mesh and a real Prometheus. Their PIDs live in ``DIR/pids.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import yaml

from canary.kube.client import ApiUnavailable, KubeClient, KubeConfig, NotFound
from canary.sandbox.layout import SandboxLayout
from canary.sandbox.netinfo import pipe_connection

COMPONENTS = ("apiserver", "node", "mesh", "prometheus")


class SandboxError(Exception):
    """Something the user must fix to start or use the sandbox."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie is not running
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def write_kubeconfig(path: Path, server: str, token: str, ca_file: str | None = None) -> None:
    cluster: dict[str, str] = {"server": server}
    if ca_file:
        cluster["certificate-authority"] = ca_file
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": cluster}],
        "users": [{"name": "sandbox", "user": {"token": token}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox",
                                                     "namespace": "default"}}],
        "current-context": "sandbox",
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)


class Sandbox:
    """A running sandbox in a directory."""

    def __init__(self, layout: SandboxLayout) -> None:
        self.layout = layout

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    @property
    def time_scale(self) -> float:
        return self.layout.time_scale

    def client(self) -> KubeClient:
        return KubeClient(KubeConfig.load(str(self.kubeconfig)))

    def resolve_url(self, url: str, namespace: str | None = None) -> str:
        from canary.sandbox.resolver import resolve_url

        return resolve_url(url, namespace, str(self.layout.root))

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def start(cls, directory: str | os.PathLike[str] | None = None, time_scale: float = 1.0,
              port: int = 0, progress: bool = False) -> Sandbox:
        """Start every component and return once the API answers and Prometheus is ready."""
        layout = SandboxLayout.at(directory)
        sb = cls(layout)
        running = sb.running()
        if running:
            raise SandboxError(f"a sandbox is already running in {layout.root} "
                               f"({', '.join(running)}); run `canary sandbox down` first")
        if time_scale <= 0:
            raise SandboxError(f"--time-scale must be > 0, got {time_scale}")
        from canary.sandbox.prometheus import PrometheusError, find_binary

        try:
            find_binary()  # fail before starting anything when the binary is missing
        except PrometheusError as e:
            raise SandboxError(str(e)) from None
        layout.logs.mkdir(parents=True, exist_ok=True)
        layout.pod_logs.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        port = port or free_port()
        cfg = layout.read_config()
        for stale in ("api_port", "mesh_metrics_port", "prometheus_port", "engine_metrics_port"):
            cfg.pop(stale, None)
        cfg.update(time_scale=time_scale, token=token, api_port=port)
        layout.config_file.parent.mkdir(parents=True, exist_ok=True)
        layout.update_config(**cfg)
        server = f"http://127.0.0.1:{port}"
        pids: dict[str, int] = {}
        try:
            say = print if progress else (lambda *_a, **_k: None)
            say(f"starting API server on {server} ...", flush=True)
            pids["apiserver"] = sb._spawn("apiserver", ["-m", "canary.sandbox.apiserver",
                                                        "--dir", str(layout.root),
                                                        "--port", str(port), "--token", token])
            layout.write_pids(pids)
            sb._wait_api(pids["apiserver"])
            # kubectl (client-go) never sends a bearer token over plain http, so the kubeconfig
            # names the server's TLS side whenever it made a certificate
            ca = layout.read_config().get("api_ca_file")
            if ca:
                server = f"https://127.0.0.1:{port}"
            write_kubeconfig(layout.kubeconfig, server, token, ca)
            say("starting node agent and mesh ...", flush=True)
            for name in ("node", "mesh"):
                pids[name] = sb._spawn(name, ["-m", f"canary.sandbox.{name}",
                                              "--dir", str(layout.root)])
                layout.write_pids(pids)
            sb._wait_config_key("mesh_metrics_port", pids["mesh"], "mesh")
            say("starting Prometheus ...", flush=True)
            from canary.sandbox.prometheus import (
                register_prometheus_service,
                start_prometheus,
                wait_ready,
            )

            proc = start_prometheus(layout, time_scale)
            pids["prometheus"] = proc.pid
            layout.write_pids(pids)
            prom_port = int(layout.read_config()["prometheus_port"])
            wait_ready(prom_port, 30.0, proc)
            register_prometheus_service(sb.client(), prom_port)
            from canary.sandbox.system_pods import expose

            expose(sb.client(), "linkerd-viz", "prometheus",
                   {"linkerd.io/extension": "viz", "component": "prometheus"}, "prometheus",
                   "prom/prometheus", prom_port, proc.pid)
        except PrometheusError as e:
            sb.stop()
            raise SandboxError(f"{e}; see {layout.log('prometheus')}") from None
        except BaseException:
            sb.stop()
            raise
        return sb

    def _spawn(self, name: str, args: list[str]) -> int:
        log = open(self.layout.log(name), "ab")  # noqa: SIM115 - handed to the child
        env = dict(os.environ, CANARY_SANDBOX_DIR=str(self.layout.root), PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                cwd=str(self.layout.root))
        log.close()
        return proc.pid

    def _wait_api(self, pid: int, timeout: float = 30.0) -> None:
        cfg = self.layout.read_config()
        url = f"http://127.0.0.1:{cfg['api_port']}/readyz"
        headers = {"Authorization": f"Bearer {cfg['token']}"}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                log = self.layout.log("apiserver")
                raise SandboxError(f"the API server exited at start; see {log}:\n{_tail(log)}")
            try:
                if requests.get(url, headers=headers, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise SandboxError(f"the API server did not answer within {timeout:.0f}s; "
                           f"see {self.layout.log('apiserver')}")

    def _wait_config_key(self, key: str, pid: int, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.layout.read_config().get(key):
                return
            if not pid_alive(pid):
                raise SandboxError(f"the {name} exited at start; see {self.layout.log(name)}:\n"
                                   f"{_tail(self.layout.log(name))}")
            time.sleep(0.05)
        raise SandboxError(f"the {name} did not start within {timeout:.0f}s; "
                           f"see {self.layout.log(name)}")

    def running(self) -> list[str]:
        return [n for n, pid in self.layout.read_pids().items() if pid_alive(pid)]

    def stop(self, timeout: float = 10.0) -> list[str]:
        """Stop every recorded component (node agent first, so it stops its pods)."""
        pids = self.layout.read_pids()
        stopped = []
        for name in ("node", "mesh", "prometheus", "apiserver"):
            pid = pids.get(name)
            if pid and pid_alive(pid):
                _terminate_group(pid, timeout)
                stopped.append(name)
        # the node agent stops its pods on SIGTERM; a SIGKILLed agent leaves them behind
        for pid in _pod_pids(self.layout):
            if pid_alive(pid):
                _terminate_group(pid, 2.0)
        if self.layout.pids_file.exists():
            self.layout.pids_file.unlink()
        return stopped

    def status(self) -> dict[str, str]:
        pids = self.layout.read_pids()
        out = {}
        for name in COMPONENTS:
            pid = pids.get(name)
            if not pid:
                out[name] = "not started"
            else:
                out[name] = f"running (pid {pid})" if pid_alive(pid) else f"dead (pid {pid})"
        return out


# What a run leaves behind that a later `up` would bring back (harness files such as the
# engine's binaries under bin/ stay).
_STATE = ("store", "node", "prometheus", "dns.json", "pids.json")


def reset(layout: SandboxLayout) -> list[str]:
    """Remove the kept state of a stopped sandbox; returns what was removed."""
    running = Sandbox(layout).running()
    if running:
        raise SandboxError(f"the sandbox in {layout.root} is running ({', '.join(running)}); "
                           f"run `canary sandbox down` first")
    removed = []
    for name in _STATE:
        path = layout.root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed


def _terminate_group(pid: int, timeout: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                _reap(pid)
                return
            time.sleep(0.05)


def _pod_pids(layout: SandboxLayout) -> list[int]:
    try:
        data = json.loads((layout.root / "node" / "processes.json").read_text())
        return [int(p) for p in data.get("processes", {})]
    except (OSError, ValueError, AttributeError):
        return []


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- port-forward ----------------------------------------------------------------------------


def forward_target(client: KubeClient, target: str, namespace: str,
                   remote_port: int) -> tuple[str, int]:
    """Where ``svc/NAME`` or ``pod/NAME`` port ``remote_port`` is reachable in the sandbox."""
    kind, _, name = target.partition("/")
    if not name:
        kind, name = "pod", kind
    kind = kind.lower()
    try:
        if kind in ("svc", "service", "services"):
            svc = client.get("v1", "Service", name, namespace)
            ports = [p["port"] for p in svc["spec"].get("ports", [])]
            if remote_port not in ports:
                raise SandboxError(f"service {namespace}/{name} does not expose port {remote_port}"
                                   f" (ports: {', '.join(map(str, ports)) or 'none'})")
            return svc["spec"]["clusterIP"], remote_port
        if kind in ("pod", "pods", "po"):
            pod = client.get("v1", "Pod", name, namespace)
            ip = pod.get("status", {}).get("podIP")
            if not ip:
                raise SandboxError(f"pod {namespace}/{name} has no IP yet (not running)")
            return ip, remote_port
    except NotFound as e:
        raise SandboxError(f"{kind} {namespace}/{name} not found") from e
    raise SandboxError(f"cannot port-forward to {target!r}: use svc/NAME or pod/NAME")


def serve_forward(local_port: int, remote: tuple[str, int], stop: threading.Event,
                  ready: threading.Event | None = None) -> None:
    """Accept on 127.0.0.1:local_port and pipe each connection to ``remote``."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", local_port))
    lsock.listen(64)
    lsock.settimeout(0.2)
    if ready:
        ready.set()
    try:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=pipe_connection, args=(conn, remote), daemon=True).start()
    finally:
        lsock.close()


# -- CLI -------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="canary sandbox",
                                description="A Docker-free Kubernetes sandbox on this machine.")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the sandbox and write DIR/kubeconfig")
    up.add_argument("--dir", default=None, help="sandbox directory (default .sandbox)")
    up.add_argument("--time-scale", type=float, default=1.0,
                    help="wall seconds per spec second (0.05 runs a 10s interval in 0.5s)")
    up.add_argument("--port", type=int, default=0, help="API server port (default: a free one)")
    up.add_argument("--fresh", action="store_true",
                    help="start empty: forget the objects a previous run kept (as reset)")
    down = sub.add_parser("down", help="stop everything the sandbox started (state is kept)")
    down.add_argument("--dir", default=None)
    rs = sub.add_parser("reset", help="forget the kept state (objects, pod IPs, metrics) so the "
                                      "next up starts empty")
    rs.add_argument("--dir", default=None)
    st = sub.add_parser("status", help="say what runs")
    st.add_argument("--dir", default=None)
    pf = sub.add_parser("port-forward", help="forward a local port to a service or pod")
    pf.add_argument("target", help="svc/NAME or pod/NAME")
    pf.add_argument("ports", nargs="+", help="LOCAL[:REMOTE], e.g. 8080 or 9000:9898")
    pf.add_argument("-n", "--namespace", default="default")
    pf.add_argument("--dir", default=None)
    args = p.parse_args(argv)
    sb = Sandbox(SandboxLayout.at(args.dir))
    try:
        if args.cmd == "reset" or (args.cmd == "up" and args.fresh):
            removed = reset(sb.layout)
            if args.cmd == "reset":
                print(f"reset {sb.layout.root}: removed {', '.join(removed)}" if removed
                      else f"nothing to reset in {sb.layout.root}")
                return 0
        if args.cmd == "up":
            Sandbox.start(args.dir, args.time_scale, args.port, progress=True)
            print(f"sandbox is up in {sb.layout.root}\n"
                  f"  export KUBECONFIG={sb.kubeconfig}\n"
                  f"  kubectl get ns\n"
                  f"stop it with: canary sandbox down"
                  + (f" --dir {args.dir}" if args.dir else ""))
            return 0
        if args.cmd == "down":
            stopped = sb.stop()
            print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
            if sb.layout.store.exists():
                print(f"state kept in {sb.layout.store}: the next `canary sandbox up` brings "
                      f"back every object; `canary sandbox reset` (or `up --fresh`) starts "
                      f"empty")
            return 0
        if args.cmd == "status":
            states = sb.status()
            for name, state in states.items():
                print(f"{name:<11} {state}")
            cfg = sb.layout.read_config()
            if any(s.startswith("running") for s in states.values()):
                print(f"kubeconfig  {sb.kubeconfig}")
                print(f"time scale  {cfg.get('time_scale', 1.0)}")
                if cfg.get("prometheus_port"):
                    print(f"prometheus  http://127.0.0.1:{cfg['prometheus_port']}")
            return 0 if states["apiserver"].startswith("running") else 1
        return _port_forward(sb, args)
    except (SandboxError, ApiUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _port_forward(sb: Sandbox, args: argparse.Namespace) -> int:
    client = sb.client()
    stop = threading.Event()
    threads = []
    for spec in args.ports:
        local_s, _, remote_s = spec.partition(":")
        try:
            local, remote = int(local_s), int(remote_s or local_s)
        except ValueError:
            raise SandboxError(f"bad port spec {spec!r}: use LOCAL or LOCAL:REMOTE") from None
        addr = forward_target(client, args.target, args.namespace, remote)
        ready = threading.Event()
        t = threading.Thread(target=serve_forward, args=(local, addr, stop, ready), daemon=True)
        t.start()
        if not ready.wait(5):
            raise SandboxError(f"cannot listen on 127.0.0.1:{local}")
        print(f"Forwarding from 127.0.0.1:{local} -> {remote}", flush=True)
        threads.append(t)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set() and all(t.is_alive() for t in threads):
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    stop.set()
    return 0
