"""What a sandbox pod gets to reach the API server the way a real pod does.

A real pod has ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT`` (the ``kubernetes``
Service) and its service account's token, CA and namespace mounted at
``/var/run/secrets/kubernetes.io/serviceaccount/``; client-go and the Python client's
``load_incluster_config`` read exactly those. Sandbox pods are processes without a mount
namespace, so:

- the node agent writes each pod's service-account directory under
  ``DIR/node/serviceaccounts/<ns>_<pod>/`` (``token``, ``ca.crt``, ``namespace``) and names it in
  env ``CANARY_SERVICEACCOUNT_DIR``, which :meth:`canary.kube.client.KubeConfig.in_cluster`
  reads in place of the absolute path (the one stand-in; the files are the real thing);
- the API server address is :data:`API_HOST` (not ``127.0.0.1``: inside a pod loopback is the
  pod itself, see ``canary.sandbox.node.podnet``), served by a relay in the node agent that pipes
  bytes to the API server, so TLS is end to end; the API server's certificate names that address
  and ``kubernetes.default.svc`` as a real one names the Service's;
- the token is the sandbox's one bearer token: the sandbox has no per-ServiceAccount tokens and
  does not enforce RBAC (the install's ClusterRole is stored, not checked).

A pod with ``automountServiceAccountToken: false`` gets none of this, as on a cluster.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
from pathlib import Path
from typing import Any

from canary.sandbox.netinfo import pipe_connection

log = logging.getLogger("node.incluster")

# Outside the pod range (127.1.0.0/16) and the Service range (127.100.0.0/16).
API_HOST = "127.99.0.1"
SA_ENV = "CANARY_SERVICEACCOUNT_DIR"


def sa_dir(sandbox_dir: Path, ns: str, pod: str) -> Path:
    return Path(sandbox_dir) / "node" / "serviceaccounts" / f"{ns}_{pod}"


def mount_service_account(sandbox_dir: Path, ns: str, pod: str, token: str,
                          ca_file: str | None) -> Path:
    d = sa_dir(sandbox_dir, ns, pod)
    d.mkdir(parents=True, exist_ok=True)
    (d / "token").write_text(token)
    (d / "token").chmod(0o600)
    (d / "namespace").write_text(ns)
    if ca_file and Path(ca_file).is_file():
        shutil.copyfile(ca_file, d / "ca.crt")
    return d


def unmount_service_account(sandbox_dir: Path, ns: str, pod: str) -> None:
    shutil.rmtree(sa_dir(sandbox_dir, ns, pod), ignore_errors=True)


def pod_env(sandbox_dir: Path, pod: dict[str, Any]) -> dict[str, str]:
    """The env a pod gets for the API (empty when it opts out or the API is unknown)."""
    spec = pod.get("spec") or {}
    if spec.get("automountServiceAccountToken") is False:
        return {}
    try:
        cfg = json.loads((Path(sandbox_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    port, token = cfg.get("api_port"), cfg.get("token")
    if not port or not token:
        return {}
    md = pod.get("metadata") or {}
    d = mount_service_account(sandbox_dir, md.get("namespace") or "default",
                              md.get("name") or "", token, cfg.get("api_ca_file"))
    RELAY.ensure(int(port))
    return {"KUBERNETES_SERVICE_HOST": API_HOST, "KUBERNETES_SERVICE_PORT": str(port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(port),
            "KUBERNETES_PORT": f"tcp://{API_HOST}:{port}", SA_ENV: str(d)}


class ApiRelay:
    """``API_HOST:port`` -> ``127.0.0.1:port``, one listener per API port seen."""

    def __init__(self) -> None:
        self._ports: set[int] = set()
        self._lock = threading.Lock()

    def ensure(self, port: int) -> None:
        with self._lock:
            if port in self._ports:
                return
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((API_HOST, port))
            except OSError as e:
                log.warning("cannot relay the API server on %s:%d: %s", API_HOST, port, e)
                sock.close()
                return
            sock.listen(64)
            self._ports.add(port)
        threading.Thread(target=self._accept, args=(sock, port), daemon=True,
                         name=f"api-relay-{port}").start()

    def _accept(self, sock: socket.socket, port: int) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=pipe_connection, args=(conn, ("127.0.0.1", port)),
                             daemon=True).start()


RELAY = ApiRelay()
