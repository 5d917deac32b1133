"""HTTP/1.1 front end: routing, auth, content negotiation, watch streams."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import select
import socket
import ssl
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from . import errors, events, openapi, paging, portforward, protobuf, selectors, tables, tls
from .api import Api, WriteOptions, dumps
from .resources import SERVER_VERSION, ResourceType
from .store import Event
from .watch import Watcher

log = logging.getLogger("apiserver.http")
Obj = dict[str, Any]

DEFAULT_WATCH_TIMEOUT = 1800.0
BOOKMARK_INTERVAL = 5.0
_UNAUTHENTICATED = {"/healthz", "/livez", "/readyz", "/version"}


_STREAMING = ("portforward", "exec", "attach", "proxy")

class ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr: tuple[str, int], api: Api, token: str,
                 ssl_context: ssl.SSLContext | None = None,
                 pod_log: Callable[[str, str, str], Path] | None = None) -> None:
        self.api = api
        self.pod_log = pod_log
        self.token = token
        self.ssl_context = ssl_context
        super().__init__(addr, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            # small request/response exchanges must not wait for delayed ACKs (Nagle)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = tls.maybe_wrap(request, self.ssl_context)
        except (OSError, ssl.SSLError) as e:
            log.debug("TLS handshake with %s failed: %s", client_address, e)
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            if conn is not request:
                try:
                    conn.close()
                except OSError:
                    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiHTTPServer
    server_version = "canary-sandbox-apiserver"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else dumps(body)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for text in getattr(self, "_warnings", ()):
            # RFC 7234 warn-code 299, as kube-apiserver sends them (kubectl prints them)
            quoted = text.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{quoted}"')
        # headers and body in one write: one segment for small answers
        self._headers_buffer.append(b"\r\n" + (data if self.command != "HEAD" else b""))
        self.flush_headers()

    def _send_error(self, e: errors.ApiException) -> None:
        self._send(e.code, e.status())

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _json_body(self, raw: bytes) -> Any:
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw.decode() or "null")
            if "protobuf" in ctype:
                return protobuf.decode(raw)
            return json.loads(raw or b"null")
        except (ValueError, yaml.YAMLError) as e:
            raise errors.bad_request(f"the request body is not valid JSON: {e}") from None

    def _authorized(self, path: str) -> bool:
        if path in _UNAUTHENTICATED:
            return True
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        return hmac.compare_digest(auth[7:].strip().encode(), self.server.token.encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self._streaming = False
        self._warnings: list[str] = []
        try:
            raw = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
            if not self._authorized(path):
                raise errors.unauthorized()
            self._route(method, path, query, raw)
        except errors.ApiException as e:
            self._fail(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:
            log.exception("%s %s failed", method, self.path)
            self._fail(errors.ApiException(500, "InternalError", f"Internal error occurred: {e}"))

    def _fail(self, e: errors.ApiException) -> None:
        if self._streaming:  # a stream already started: all we can do is end it
            self.close_connection = True
            return
        self._send_error(e)

    # -- routing ----------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
        reg = self.server.api.registry
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(
                ("/healthz/", "/livez/", "/readyz/")):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        parts = [p for p in path.split("/") if p]
        doc: Obj | None = None
        if path == "/version":
            doc = SERVER_VERSION
        elif path == "/api":
            doc = reg.api_versions()
        elif path == "/apis":
            doc = reg.group_list()
        elif path == "/api/v1":
            doc = reg.resource_list("", "v1")
        elif len(parts) == 2 and parts[0] == "apis":
            doc = reg.group(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = reg.resource_list(parts[1], parts[2])
        elif path == "/openapi/v2":
            accept = self.headers.get("Accept") or ""
            if "protobuf" in accept:
                self._send(200, openapi.V2_PROTOBUF, openapi.V2_PROTOBUF_TYPE)
                return
            doc = openapi.v2_document()
        elif path == "/openapi/v3":
            doc = openapi.root(reg)
        elif path.startswith("/openapi/v3/api/") or path.startswith("/openapi/v3/apis/"):
            sub = parts[2:]
            if sub[0] == "api" and len(sub) == 2:
                doc = openapi.gv_document(reg, "", sub[1])
            elif sub[0] == "apis" and len(sub) == 3:
                doc = openapi.gv_document(reg, sub[1], sub[2])
        elif len(parts) > 2 and parts[:2] == ["api", "v1"]:
            self._resource(method, "", "v1", parts[2:], query, raw)
            return
        elif len(parts) > 3 and parts[0] == "apis":
            self._resource(method, parts[1], parts[2], parts[3:], query, raw)
            return
        if doc is None:
            raise errors.path_not_found(path)
        if method != "GET":
            raise errors.method_not_allowed(method)
        self._send(200, doc)

    def _resource(self, method: str, group: str, version: str, rest: list[str],
                  query: dict[str, str], raw: bytes) -> None:
        api = self.server.api
        watch = query.get("watch") in ("true", "1")
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        ns: str | None = None
        if rest and rest[0] == "namespaces" and len(rest) >= 3 and not (
                len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise errors.path_not_found(self.path)
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        sub = rest[2] if len(rest) > 2 else ""
        rt = api.registry.lookup(group, version, plural)
        if rt is None or (ns is not None and not rt.namespaced):
            raise errors.path_not_found(self.path)
        if sub == "portforward" and rt.plural == "pods" and name is not None and ns:
            self._port_forward(rt, ns, name)
            return
        if sub in _STREAMING and rt.plural in ("pods", "services"):
            # kubectl prints this after "error upgrading connection:"
            raise errors.ApiException(
                501, "NotImplemented",
                f"the sandbox does not stream {sub}; run `canary sandbox port-forward "
                f"{'svc' if rt.plural == 'services' else 'pod'}/{name} LOCAL:REMOTE -n {ns}` "
                f"instead (svc/NAME works too)" if sub == "portforward" else
                f"the sandbox does not support {sub}: pods are local processes "
                f"(see their logs with kubectl logs)")
        if sub and sub not in rt.subresources():
            raise errors.path_not_found(self.path)
        if rt.namespaced and name is not None and ns is None:
            raise errors.path_not_found(self.path)
        dry_run = "dryRun" in query
        ns_arg = ns or ""
        opts = self._write_options(query, sub)
        if method == "GET":
            if name is None:
                if watch:
                    self._watch(rt, ns, query)
                else:
                    self._list(rt, ns, query)
            elif sub == "scale":
                self._send(200, api.get_scale(rt, ns_arg, name))
            elif sub == "log":
                self._pod_log(api.get(rt, ns_arg, name), query)
            else:
                self._send_obj(rt, api.get(rt, ns_arg, name))
            return
        if method == "POST":
            if name is not None:
                raise errors.method_not_allowed(method)
            if rt.namespaced and ns is None:
                raise errors.path_not_found(self.path)
            obj = api.create(rt, ns_arg, self._json_body(raw), dry_run, opts)
            self._send_obj(rt, obj, 201)
            return
        if name is None and method in ("PUT", "PATCH"):
            raise errors.method_not_allowed(method)
        if method == "PUT":
            body = self._json_body(raw)
            obj = api.update(rt, ns_arg, name, body, sub, dry_run, opts)
            self._send(200, obj) if sub == "scale" else self._send_obj(rt, obj)
            return
        if method == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            obj = api.patch(rt, ns_arg, name, raw, ctype, sub, dry_run, opts)
            self._send(200, obj) if sub == "scale" else self._send_obj(rt, obj)
            return
        if method == "DELETE":
            opts = self._delete_options(raw, query)
            dry_run = dry_run or bool(opts.get("dryRun"))
            if name is None:
                label_sel, field_sel = self._selectors(rt, query)
                self._send(200, api.delete_collection(rt, ns, opts, label_sel, field_sel,
                                                      dry_run))
            else:
                result = api.delete(rt, ns_arg, name, opts, dry_run)
                self._send(200, result)
            return
        raise errors.method_not_allowed(method)

    def _write_options(self, query: dict[str, str], sub: str) -> WriteOptions:
        mode = query.get("fieldValidation") or ""
        if mode not in ("", "Ignore", "Warn", "Strict"):
            # k8s.io/apiserver pkg/endpoints/handlers/rest.go fieldValidation
            raise errors.bad_request(f"fieldValidation parameter unsupported: {mode}")
        opts = WriteOptions(mode, status_write=sub == "status",
                            field_manager=query.get("fieldManager") or "",
                            force=query.get("force") in ("true", "1"))
        self._warnings = opts.warnings
        return opts

    def _port_forward(self, rt: ResourceType, ns: str, name: str) -> None:
        """Upgrade to SPDY/3.1 and pipe kubectl's streams to the pod's address."""
        pod = self.server.api.get(rt, ns, name)
        status = pod.get("status") or {}
        ip = status.get("podIP") or ""
        if status.get("phase") != "Running" or not ip:
            raise errors.bad_request(f"pod {name} is not running (phase "
                                     f"{status.get('phase') or 'unknown'}, podIP "
                                     f"{ip or 'unset'}): nothing to forward to")
        try:
            local = ipaddress.ip_address(ip).is_loopback
        except ValueError:
            local = False
        if not local:  # sandbox pods are local processes; never dial out of the host
            raise errors.bad_request(f"pod {name} has podIP {ip!r}, not a 127.0.0.0/8 "
                                     f"address: the sandbox only forwards to local pods")
        upgrade = (self.headers.get("Upgrade") or "").strip().lower()
        offered = {v.strip() for h in self.headers.get_all("X-Stream-Protocol-Version") or []
                   for v in h.split(",")}
        if upgrade != "spdy/3.1" or portforward.PROTOCOL not in offered:
            # kubectl first tries WebSockets; a non-101 answer makes it fall back to SPDY
            raise errors.bad_request(
                f"port-forward needs an upgrade to SPDY/3.1 with X-Stream-Protocol-Version "
                f"{portforward.PROTOCOL} (got Upgrade {upgrade or 'none'!r}); the sandbox "
                f"does not serve the WebSocket variant")
        self.send_response(101)
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", "SPDY/3.1")
        self.send_header("X-Stream-Protocol-Version", portforward.PROTOCOL)
        self.end_headers()
        self._streaming = True
        self.close_connection = True
        # client-go sends no frame before it has read the 101, so nothing sits in rfile
        portforward.serve(self.connection, ip, f"{ns}/{name}",
                          (pod.get("metadata") or {}).get("uid", ""))

    def _delete_options(self, raw: bytes, query: dict[str, str]) -> Obj:
        opts = self._json_body(raw) if raw.strip() else {}
        if not isinstance(opts, dict):
            raise errors.bad_request("DeleteOptions must be an object")
        if "propagationPolicy" in query:
            opts["propagationPolicy"] = query["propagationPolicy"]
        if "orphanDependents" in query:
            opts["orphanDependents"] = query["orphanDependents"] == "true"
        policy = opts.get("propagationPolicy")
        if policy and policy not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(f"invalid propagationPolicy {policy!r}: must be one of "
                                     f"Background, Foreground, Orphan")
        return opts

    # -- representations --------------------------------------------------------------------

    def _wants_table(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    def _wants_partial(self) -> bool:
        """Metadata-only clients ask for ``as=PartialObjectMetadata[List]``."""
        accept = self.headers.get("Accept") or ""
        return "as=PartialObjectMetadata" in accept and not self._wants_table()

    @staticmethod
    def _partial(obj: Obj) -> Obj:
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {}}

    def _columns(self, rt: ResourceType) -> list[Obj] | None:
        if not rt.custom:
            return None
        return list(rt.printer_columns or [])

    def _table(self, rt: ResourceType, objs: list[Obj], rv: str = "") -> Obj:
        include = self._query_value("includeObject") or "Metadata"
        try:
            return tables.to_table(objs, rt.kind, rt.api_version, self._columns(rt), include,
                                  rv)
        except ValueError as e:
            raise errors.bad_request(str(e)) from None

    def _query_value(self, key: str) -> str | None:
        q = parse_qs(urlsplit(self.path).query)
        return q[key][-1] if key in q else None

    def _send_obj(self, rt: ResourceType, obj: Obj, code: int = 200) -> None:
        if self._wants_table() and obj.get("kind") == rt.kind:
            rv = (obj.get("metadata") or {}).get("resourceVersion", "")
            self._send(code, self._table(rt, [obj], rv))
        elif self._wants_partial() and obj.get("kind") == rt.kind:
            self._send(code, self._partial(obj))
        else:
            self._send(code, obj)

    def _selectors(self, rt: ResourceType, query: dict[str, str]) -> tuple[Any, Any]:
        try:
            label_sel = (selectors.parse_label_selector(query["labelSelector"])
                         if query.get("labelSelector") else None)
            text = query.get("fieldSelector") or ""
            if rt.view_of:
                text = events.field_selector_to_core(text)
            field_sel = selectors.parse_field_selector(text, rt.kind) if text else None
        except selectors.SelectorError as e:
            raise errors.bad_request(str(e)) from None
        return label_sel, field_sel

    def _list(self, rt: ResourceType, ns: str | None, query: dict[str, str]) -> None:
        label_sel, field_sel = self._selectors(rt, query)
        store = self.server.api.store
        token = query.get("continue") or ""
        want = query.get("resourceVersion") or ""
        if token and want:
            raise errors.bad_request("specifying resource version is not allowed when using "
                                     "continue")
        if query.get("resourceVersionMatch") == "Exact":
            # only the current state is kept: an older exact version is gone, as etcd
            # compaction makes it in Kubernetes
            if want.isdigit() and int(want) < store.rv:
                raise errors.ApiException(410, "Expired", f"too old resource version: {want} "
                                          f"({store.rv})")
        items, rv = self.server.api.list(rt, ns, label_sel, field_sel)
        items, rv, next_token, remaining = paging.page(
            items, rv, paging.parse_limit(query.get("limit")), token, store.history_floor)
        meta: Obj = {"resourceVersion": str(rv)}
        if next_token:
            meta["continue"] = next_token
            meta["remainingItemCount"] = remaining
        if self._wants_table():
            table = self._table(rt, items, str(rv))
            table["metadata"] = {**table.get("metadata", {}), **meta}
            self._send(200, table)
            return
        if self._wants_partial():
            self._send(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                             "metadata": meta, "items": [self._partial(o) for o in items]})
            return
        self._send(200, {"kind": rt.list_kind, "apiVersion": rt.api_version,
                         "metadata": meta, "items": items})

    # -- pod logs ---------------------------------------------------------------------------

    def _pod_log(self, pod: Obj, query: dict[str, str]) -> None:
        """``kubectl logs``: the file the node agent writes for the container."""
        md = pod["metadata"]
        names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container") or (names[0] if len(names) == 1 else "")
        if not container:
            raise errors.bad_request(f"a container name must be specified for pod {md['name']}, "
                                     f"choose one of: [{' '.join(names)}]")
        if container not in names:
            raise errors.bad_request(f"container {container} is not valid for pod "
                                     f"{md['name']}")
        path = self.server.pod_log(md["namespace"], md["name"], container) \
            if self.server.pod_log else None
        data = path.read_bytes() if path and path.exists() else b""
        if query.get("tailLines"):
            try:
                n = int(query["tailLines"])
            except ValueError:
                raise errors.bad_request("tailLines must be an integer") from None
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        if query.get("follow") not in ("true", "1"):
            self._send(200, data, "text/plain")
            return
        self._streaming = True
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        offset = path.stat().st_size if path and path.exists() else 0
        try:
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            key = ("/pods", md["namespace"], md["name"])
            while self.server.api.store.get(*key) is not None and not self._client_gone():
                size = path.stat().st_size if path and path.exists() else 0
                if size > offset and path is not None:
                    with open(path, "rb") as f:
                        f.seek(offset)
                        chunk = f.read(size - offset)
                    offset = size
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                time.sleep(0.2)
            self._end_stream()
        except OSError:
            self.close_connection = True

    # -- watch ------------------------------------------------------------------------------

    def _watch(self, rt: ResourceType, ns: str | None, query: dict[str, str]) -> None:
        api = self.server.api
        store = api.store
        label_sel, field_sel = self._selectors(rt, query)
        rv_text = query.get("resourceVersion") or ""
        since: int | None = None
        if rv_text not in ("", "0"):
            try:
                since = int(rv_text)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {rv_text!r}") from None
        initial_events = query.get("sendInitialEvents") == "true"
        if initial_events:
            since = None
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError:
            raise errors.bad_request("timeoutSeconds must be a number") from None
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        watcher = Watcher(ns if rt.namespaced else None, label_sel, field_sel)
        try:
            backlog, start_rv = store.subscribe(rt.key, watcher, since)
        except ValueError as e:
            backlog, start_rv = [], store.rv
            self._start_stream()
            oldest = e.args[0]
            self._write_event("ERROR", errors.expired(since or 0, oldest).status(), rt)
            self._end_stream()
            return
        try:
            self._start_stream()
            self._stream(rt, watcher, backlog, timeout, bookmarks, initial_events, start_rv)
            self._end_stream()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            store.unsubscribe(rt.key, watcher)

    def _start_stream(self) -> None:
        self._streaming = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_event(self, etype: str, obj: Obj, rt: ResourceType) -> None:
        if etype in ("ADDED", "MODIFIED", "DELETED") and self._wants_table():
            obj = self._table(rt, [obj])
        elif etype in ("ADDED", "MODIFIED", "DELETED") and self._wants_partial():
            obj = self._partial(obj)
        data = dumps({"type": etype, "object": obj}) + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _bookmark(self, rt: ResourceType, rv: int, annotations: Obj | None = None) -> None:
        md: Obj = {"resourceVersion": str(rv)}
        if annotations:
            md["annotations"] = annotations
        self._write_event("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version,
                                       "metadata": md}, rt)

    def _stream(self, rt: ResourceType, watcher: Watcher, backlog: list[Event],
                timeout: float, bookmarks: bool, initial_events: bool, start_rv: int) -> None:
        store = self.server.api.store
        for ev in backlog:
            out = watcher.translate(ev)
            if out:
                self._write_event(out[0], rt.served(out[1]), rt)
        if initial_events:
            self._bookmark(rt, start_rv, {"k8s.io/initial-events-end": "true"})
        self.wfile.flush()
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                ev = watcher.queue.get(timeout=min(0.5, left))
            except Exception:  # queue.Empty
                ev = None
            if ev is not None:
                out = watcher.translate(ev)
                if out:
                    self._write_event(out[0], rt.served(out[1]), rt)
                    # drain what else is queued before flushing
                    self.wfile.flush()
                continue
            if bookmarks and time.monotonic() >= next_bookmark:
                next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
                with store.lock:
                    rv = store.rv if watcher.queue.empty() else None
                if rv is not None:
                    self._bookmark(rt, rv)
                    self.wfile.flush()
            if self._client_gone():
                return

    def _client_gone(self) -> bool:
        try:
            conn = self.connection
            if isinstance(conn, ssl.SSLSocket) and conn.pending():
                return False
            readable, _, _ = select.select([conn], [], [], 0)
            if not readable:
                return False
            if not isinstance(conn, ssl.SSLSocket):
                return conn.recv(1, socket.MSG_PEEK) == b""
            # TLS cannot peek; a watch client never sends more, so reading is harmless.
            conn.setblocking(False)
            try:
                return conn.recv(1) == b""
            except ssl.SSLWantReadError:
                return False
            finally:
                conn.setblocking(True)
        except (OSError, ValueError):
            return True
