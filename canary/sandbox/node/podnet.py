"""A pod's own loopback: ``localhost`` inside a pod is that pod.

In Kubernetes every pod has its own network namespace, so ``127.0.0.1`` (and ``localhost``)
reach the pod's own listeners: exec probes such as ``wget http://localhost:8080/healthz``, a
container talking to its sidecar, commands a loadtester runs. Sandbox pods are processes on one
host sharing one loopback, each with its own address ``POD_IP`` (127.1.x.y).

Mechanism: a small shared library preloaded into every container process and exec probe
(``LD_PRELOAD``) that rewrites socket addresses as the pod's network namespace would route them:

- ``connect``/``sendto`` to ``127.0.0.1`` or ``::1`` go to ``POD_IP`` (``::ffff:POD_IP``);
- ``bind`` to ``127.0.0.1``, ``0.0.0.0``, ``::1`` or ``::`` binds ``POD_IP``, so two pods can
  both listen on ``0.0.0.0:8080`` and each owns its port, as with separate namespaces.

Other addresses (other pods, Service ClusterIPs 127.100.x.y) pass unchanged. The library is
compiled from the C source below with the system C compiler on first use and cached under
``DIR/node/``. Limits, said plainly: statically linked programs (many Go binaries) ignore
``LD_PRELOAD``; without a C compiler the rewrite is off (the node agent logs a warning once)
and ``localhost`` in a pod is the host's loopback.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

log = logging.getLogger("node.podnet")

C_SOURCE = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int pod_ip(struct in_addr *out) {
    const char *ip = getenv("POD_IP");
    return ip != NULL && inet_pton(AF_INET, ip, out) == 1;
}

/* The address the pod's own network namespace would use, in buf, or addr unchanged. */
static const struct sockaddr *pod_view(const struct sockaddr *addr, socklen_t len,
                                       struct sockaddr_storage *buf, int binding) {
    struct in_addr pod;
    if (addr == NULL || !pod_ip(&pod)) return addr;
    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, addr, sizeof in);
        uint32_t a = ntohl(in.sin_addr.s_addr);
        if (a == INADDR_LOOPBACK || (binding && a == INADDR_ANY)) {
            in.sin_addr = pod;
            memcpy(buf, &in, sizeof in);
            return (const struct sockaddr *)buf;
        }
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, addr, sizeof in6);
        if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)
                || (binding && IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr))) {
            memset(&in6.sin6_addr, 0, sizeof in6.sin6_addr);
            in6.sin6_addr.s6_addr[10] = 0xff;
            in6.sin6_addr.s6_addr[11] = 0xff;
            memcpy(&in6.sin6_addr.s6_addr[12], &pod, 4);
            memcpy(buf, &in6, sizeof in6);
            return (const struct sockaddr *)buf;
        }
    }
    return addr;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    struct sockaddr_storage buf;
    if (!real) real = dlsym(RTLD_NEXT, "connect");
    return real(fd, pod_view(addr, len, &buf, 0), len);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    struct sockaddr_storage buf;
    if (!real) real = dlsym(RTLD_NEXT, "bind");
    return real(fd, pod_view(addr, len, &buf, 1), len);
}

ssize_t sendto(int fd, const void *msg, size_t n, int flags, const struct sockaddr *addr,
               socklen_t len) {
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    struct sockaddr_storage buf;
    if (!real) real = dlsym(RTLD_NEXT, "sendto");
    return real(fd, msg, n, flags, pod_view(addr, len, &buf, 0), len);
}
"""

_lock = threading.Lock()
_built: dict[Path, Path | None] = {}


def library(node_dir: Path) -> Path | None:
    """The compiled preload library (built once per source version), or None without a
    C compiler."""
    with _lock:
        if node_dir in _built:
            return _built[node_dir]
        digest = hashlib.sha256(C_SOURCE.encode()).hexdigest()[:12]
        out = node_dir / f"podnet-{digest}.so"
        if not out.exists():
            out = _compile(node_dir, out)
        _built[node_dir] = out
        return out


def _compile(node_dir: Path, out: Path) -> Path | None:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        log.warning("no C compiler (cc/gcc/clang): localhost inside pods is the host's "
                    "loopback, not the pod's (install gcc to get per-pod loopback)")
        return None
    node_dir.mkdir(parents=True, exist_ok=True)
    src = node_dir / "podnet.c"
    src.write_text(C_SOURCE)
    tmp = out.with_suffix(".tmp")
    r = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src), "-ldl"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log.warning("compiling the per-pod loopback library failed (%s): localhost inside "
                    "pods is the host's loopback\n%s", cc, r.stderr[-2000:])
        return None
    tmp.replace(out)
    return out


def preload_env(node_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the library prepended to ``LD_PRELOAD`` (when it could be built)."""
    lib = library(node_dir)
    if lib is None:
        return env
    current = env.get("LD_PRELOAD", "")
    return {**env, "LD_PRELOAD": f"{lib} {current}".strip()}


def privileged_port_problem(ports: list[int]) -> str | None:
    """Why this process cannot bind one of ``ports`` (below the unprivileged start), if so."""
    if os.geteuid() == 0:
        return None
    try:
        start = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        start = 1024
    low = sorted(p for p in ports if p < start)
    if not low:
        return None
    return (f"containerPort {low[0]} needs root: the sandbox runs pods as uid {os.geteuid()} "
            f"and ports below {start} need root (or lower "
            f"net.ipv4.ip_unprivileged_port_start)")
