"""In-cluster names -> sandbox addresses, and HTTP from a pod's own source address.

The API server writes ``DIR/dns.json`` on every Service change (see docs/internals.md)::

    {"<svc>.<ns>.svc.cluster.local": "<clusterIP>", "<svc>.<ns>.svc": ..., "<svc>.<ns>": ...}

``resolve_host`` answers the same name forms a pod's resolv.conf search path would: ``svc`` (needs
the caller's namespace), ``svc.ns``, ``svc.ns.svc`` and ``svc.ns.svc.cluster.local``. IP literals
and ``localhost`` pass through unchanged.

``http_request`` binds the client socket to the pod's IP (env ``POD_IP``) because the mesh tells
client pods apart by TCP source address, as Linkerd tells them apart by identity.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import threading
import urllib.parse
from email.message import Message
from pathlib import Path

from canary.sandbox.layout import SandboxLayout

DEFAULT_TIMEOUT = 10.0
_CLUSTER_SUFFIX = ".svc.cluster.local"


class ResolveError(LookupError):
    """An in-cluster host name that no Service answers to."""

    def __init__(self, host: str, detail: str = "") -> None:
        msg = f"cannot resolve host {host!r}"
        super().__init__(f"{msg}: {detail}" if detail else msg)
        self.host = host


_cache_lock = threading.Lock()
# dns.json path -> ((mtime_ns, size), mapping); re-read only when the file changes
_cache: dict[Path, tuple[tuple[int, int], dict[str, str]]] = {}


def _dns_path(sandbox_dir: str | os.PathLike[str] | None) -> Path:
    return SandboxLayout.at(sandbox_dir).dns_file


def load_dns(sandbox_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The name -> address map from ``DIR/dns.json`` ({} when missing or unreadable).

    ``sandbox_dir`` defaults to env ``CANARY_SANDBOX_DIR``, then ``.sandbox``.
    """
    path = _dns_path(sandbox_dir)
    try:
        st = path.stat()
    except OSError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    with _cache_lock:
        hit = _cache.get(path)
        if hit and hit[0] == stamp:
            return hit[1]
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        # Writers replace the file atomically, so this is a truly bad file: keep the last good map.
        return hit[1] if hit else {}
    mapping = {str(k).lower(): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    with _cache_lock:
        _cache[path] = (stamp, mapping)
    return mapping


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve_host(
    host: str,
    namespace: str | None = None,
    sandbox_dir: str | os.PathLike[str] | None = None,
) -> str | None:
    """The sandbox address for ``host``, or None when no Service has that name."""
    name = host.strip().rstrip(".").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if _is_ip(name) or name == "localhost":
        return name
    dns = load_dns(sandbox_dir)
    candidates = [name]
    if "." not in name and namespace:
        candidates.append(f"{name}.{namespace}")
    for cand in candidates:
        for key in (cand, cand + ".svc", cand + _CLUSTER_SUFFIX):
            addr = dns.get(key)
            # Headless Services have no address of their own.
            if addr and addr != "None":
                return addr
    if name.endswith(_CLUSTER_SUFFIX):
        addr = dns.get(name[: -len(_CLUSTER_SUFFIX)])
        if addr and addr != "None":
            return addr
    return None


def resolve_url(
    url: str,
    namespace: str | None = None,
    sandbox_dir: str | os.PathLike[str] | None = None,
) -> str:
    """``url`` with its host replaced by the sandbox address; raises ResolveError when unknown."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ResolveError(url, "expected an http:// or https:// URL with a host")
    addr = resolve_host(parts.hostname, namespace, sandbox_dir)
    if addr is None:
        where = f" in namespace {namespace!r}" if namespace and "." not in parts.hostname else ""
        raise ResolveError(parts.hostname, f"no Service with that name{where} in dns.json")
    try:
        port = parts.port
    except ValueError as exc:
        raise ResolveError(parts.hostname, f"bad port in {url!r}") from exc
    netloc = f"[{addr}]" if ":" in addr else addr
    if port is not None:
        netloc += f":{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def http_request(
    method: str,
    url: str,
    *,
    source_ip: str | None = None,
    namespace: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes | str | None = None,
    sandbox_dir: str | os.PathLike[str] | None = None,
) -> tuple[int, Message, bytes]:
    """One HTTP request to an in-cluster or literal URL: ``(status, headers, body)``.

    ``source_ip`` defaults to env ``POD_IP`` and ``namespace`` to env ``POD_NAMESPACE``, so inside
    a pod the call looks like it came from that pod. The returned headers are an
    ``email.message.Message`` (case-insensitive ``get``, ``get_all``, ``items``). The Host header is
    the name the caller used, as a real client sends it. Connection errors raise ``OSError``
    (``http.client`` errors included); unknown names raise ``ResolveError``.
    """
    if source_ip is None:
        source_ip = os.environ.get("POD_IP") or None
    if namespace is None:
        namespace = os.environ.get("POD_NAMESPACE") or None
    parts = urllib.parse.urlsplit(url)
    target = urllib.parse.urlsplit(resolve_url(url, namespace, sandbox_dir))
    host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    src = (source_ip, 0) if source_ip else None
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, source_address=src)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=src)
    path = target.path or "/"
    if target.query:
        path += "?" + target.query
    data = body.encode() if isinstance(body, str) else body
    try:
        conn.putrequest(method.upper(), path, skip_host=True, skip_accept_encoding=True)
        hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        names = {k.lower() for k, _ in hdrs}
        if "host" not in names:
            conn.putheader("Host", parts.netloc.rsplit("@", 1)[-1])
        for k, v in hdrs:
            conn.putheader(k, v)
        if data is not None and "content-length" not in names:
            conn.putheader("Content-Length", str(len(data)))
        elif data is None and method.upper() in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", "0")
        conn.endheaders(data)
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, resp.msg, payload
    except http.client.HTTPException as exc:
        raise ConnectionError(f"{method} {url}: {exc!r}") from exc
    finally:
        conn.close()
