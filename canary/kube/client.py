"""A small dynamic Kubernetes REST client shared by the engine, the node agent and the harness.

It speaks plain REST over kept-alive ``http.client`` connections (:mod:`canary.transport`) so
that custom resources (Canary, HTTPRoute, Rollout) are first-class, and it works the same
against the sandbox API server, kind and real clusters.
Objects are plain dicts, exactly as the API returns them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from canary.transport import Pool, Response, TransportError

Obj = dict[str, Any]


class ApiError(Exception):
    """An error answer from the API server (a ``kind: Status`` body)."""

    def __init__(self, code: int, reason: str, message: str, body: Obj | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.body = body or {}


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class AlreadyExists(ApiError):
    pass


class Gone(ApiError):
    pass


class ApiUnavailable(Exception):
    """The API server could not be reached at all."""


_ERRORS: dict[int, type[ApiError]] = {404: NotFound, 409: Conflict, 410: Gone}


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICEACCOUNT_DIR_ENV = "CANARY_SERVICEACCOUNT_DIR"  # the sandbox's stand-in for the mount


class KubeconfigError(ApiUnavailable):
    """The kubeconfig cannot be used; the message names the file and what is wrong."""


@dataclass
class KubeConfig:
    """Where the API is and how to authenticate, read as kubectl reads it.

    ``load`` uses the official ``kubernetes`` client's loader, so merged ``KUBECONFIG`` lists,
    ``--context``, exec credential plugins (EKS, GKE, AKS), ``tokenFile``, client certificates
    and the in-cluster service account all work; requests then go through our own transport.
    ``refresh`` gives a new bearer token when the server answers 401 (exec plugins' tokens
    expire)."""

    server: str
    token: str | None = None
    verify: bool | str = True
    cert: tuple[str, str] | None = None
    namespace: str = "default"
    refresh: Callable[[], str | None] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | None = None, context: str | None = None) -> KubeConfig:
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config
        from kubernetes.config.config_exception import ConfigException

        where = path or os.environ.get("KUBECONFIG") or "~/.kube/config"
        if path is None and not os.environ.get("KUBECONFIG") and \
                not os.path.exists(os.path.expanduser("~/.kube/config")) and \
                os.environ.get("KUBERNETES_SERVICE_HOST"):
            return cls._in_cluster()
        files = [os.path.expanduser(f) for f in where.split(os.pathsep) if f]
        docs = []
        for f in files:  # kubectl skips missing files of a list
            if not os.path.isfile(f):
                continue
            try:
                with open(f) as fh:
                    doc = yaml.safe_load(fh)
            except (OSError, yaml.YAMLError) as e:
                raise KubeconfigError(f"kubeconfig {f} is malformed: {_one_line(e)}") from None
            if not isinstance(doc, dict):
                raise KubeconfigError(f"kubeconfig {f} is malformed: expected a mapping with "
                                      f"clusters, users and contexts")
            docs.append(doc)
        if not docs:
            raise KubeconfigError(f"cannot read kubeconfig {where}: no such file")
        # As kubectl merges: the first file that sets current-context decides, and the first
        # entry of a name wins.
        current = context or next((d["current-context"] for d in docs
                                   if d.get("current-context")), None)
        ctxs: dict[str, dict] = {}
        for d in docs:
            for c in d.get("contexts") or []:
                if isinstance(c, dict) and c.get("name") not in ctxs:
                    ctxs[c.get("name")] = c.get("context") or {}
        if not current:
            raise KubeconfigError(f"kubeconfig {where}: no current-context is set; pass "
                                  f"--context (have: {', '.join(map(str, ctxs)) or 'none'})")
        if current not in ctxs:
            raise KubeconfigError(f"kubeconfig {where}: context {current!r} not found "
                                  f"(have: {', '.join(map(str, ctxs)) or 'none'})")
        cfg = k8s.Configuration()
        try:
            k8s_config.load_kube_config(config_file=where, context=current,
                                        client_configuration=cfg, persist_config=False)
        except ConfigException as e:
            raise KubeconfigError(f"kubeconfig {where}: {_one_line(e)}") from None
        except (TypeError, KeyError, AttributeError, ValueError) as e:
            raise KubeconfigError(f"kubeconfig {where} is malformed: {_one_line(e)}") from None
        namespace = ctxs[current].get("namespace") or "default"
        return cls._from_client_config(cfg, namespace)

    @classmethod
    def in_cluster(cls) -> KubeConfig:
        """The pod's service account: ``KUBERNETES_SERVICE_HOST``/``PORT`` and its token."""
        return cls._in_cluster()

    @classmethod
    def _in_cluster(cls) -> KubeConfig:
        from kubernetes import client as k8s
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.config.incluster_config import InClusterConfigLoader

        # A real pod has its token at the standard path; a sandbox pod (a local process, no
        # mount namespace) is told where its mounted service-account directory is.
        sa_dir = os.environ.get(SERVICEACCOUNT_DIR_ENV) or SERVICEACCOUNT_DIR
        cfg = k8s.Configuration()
        try:
            InClusterConfigLoader(token_filename=os.path.join(sa_dir, "token"),
                                  cert_filename=os.path.join(sa_dir, "ca.crt"),
                                  try_refresh_token=True).load_and_set(cfg)
        except ConfigException as e:
            raise KubeconfigError(f"in-cluster configuration: {_one_line(e)}") from None
        ns_file = os.path.join(sa_dir, "namespace")
        ns = open(ns_file).read().strip() if os.path.isfile(ns_file) else "default"
        return cls._from_client_config(cfg, ns)

    @classmethod
    def _from_client_config(cls, cfg: Any, namespace: str) -> KubeConfig:
        def bearer() -> str | None:
            if cfg.refresh_api_key_hook is not None:
                cfg.refresh_api_key_hook(cfg)
            keys = cfg.api_key or {}
            value = keys.get("BearerToken") or keys.get("authorization") or ""
            # the in-cluster loader writes "bearer <token>" (lower case), kubeconfigs "Bearer"
            return value.split(" ", 1)[1] if value.lower().startswith("bearer ") \
                else value or None

        verify: bool | str = cfg.ssl_ca_cert or True if cfg.verify_ssl else False
        cert = (cfg.cert_file, cfg.key_file) if cfg.cert_file and cfg.key_file else None
        return cls(server=cfg.host.rstrip("/"), token=bearer(), verify=verify, cert=cert,
                   namespace=namespace, refresh=bearer)


def request_verb(method: str, path: str, params: dict | None = None) -> tuple[str, str]:
    """Kubernetes' verb and resource of a request, as the API server's audit log names them:
    ("list", "pods"), ("watch", "canaries"), ("patch", "httproutes/status")."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return method.lower(), "/" + "/".join(parts)
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    if not rest:
        return method.lower(), "discovery"
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    if method == "GET":
        verb = "watch" if (params or {}).get("watch") in ("true", True, "1") else \
            "get" if named else "list"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if named else "deletecollection"}.get(method, method.lower())
    return verb, resource


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class KubeClient:
    """Thread-safe dynamic client. Resources are named by apiVersion + kind."""

    def __init__(self, config: KubeConfig, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout
        self._pool = Pool(config.verify, config.cert)
        self._resources: dict[tuple[str, str], Resource] = {}
        self._lock = threading.Lock()
        # (verb, resource, HTTP status or 0 when unreachable) per request: the engine's cost
        self.on_request: Callable[[str, str, int], None] | None = None

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None) -> KubeClient:
        return cls(KubeConfig.load(path, context))

    # -- transport -------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None,
                content_type: str = "application/json", stream: bool = False,
                timeout: float | None = None) -> Response:
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            headers = {"Content-Type": content_type, "Accept": "application/json"}
            if self.config.token:
                headers["Authorization"] = f"Bearer {self.config.token}"
            try:
                resp = self._pool.request(method, self.config.server + path, body=data,
                                          params=params, headers=headers, stream=stream,
                                          timeout=timeout or self.timeout)
            except TransportError as e:
                self._observe(method, path, params, 0)
                raise ApiUnavailable(f"API server {self.config.server} unreachable: {e}") \
                    from e
            self._observe(method, path, params, resp.status_code)
            if resp.status_code == 401 and attempt == 1 and self._refresh_token():
                continue  # an exec plugin's token expired: ask it again, once
            if resp.status_code >= 400:
                raise _error(resp)
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _observe(self, method: str, path: str, params: dict | None, code: int) -> None:
        if self.on_request is not None:
            verb, resource = request_verb(method, path, params)
            self.on_request(verb, resource, code)

    def _refresh_token(self) -> bool:
        if self.config.refresh is None:
            return False
        try:
            token = self.config.refresh()
        except Exception:  # noqa: BLE001 - the 401 is the answer then
            return False
        if not token or token == self.config.token:
            return False
        self.config.token = token  # every thread's next request sends it
        return True

    def _json(self, method: str, path: str, **kw: Any) -> Obj:
        return self.request(method, path, **kw).json()

    # -- discovery ---------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        key = (api_version, kind)
        with self._lock:
            if key in self._resources:
                return self._resources[key]
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        try:
            listing = self._json("GET", path)
        except NotFound:
            raise NotFound(404, "NotFound", f"the server does not serve {api_version}") from None
        group, _, version = api_version.rpartition("/")
        found = None
        subs: dict[str, list[str]] = {}
        for r in listing.get("resources", []):
            name = r["name"]
            if "/" in name:
                main, sub = name.split("/", 1)
                subs.setdefault(main, []).append(sub)
            elif r.get("kind") == kind:
                found = r
        if found is None:
            raise NotFound(404, "NotFound", f"the server has no kind {kind} in {api_version}")
        res = Resource(group, version, found["name"], kind, found.get("namespaced", False),
                       tuple(subs.get(found["name"], [])))
        with self._lock:
            self._resources[key] = res
        return res

    def forget_resources(self) -> None:
        """Drop cached discovery (after a CRD was installed)."""
        with self._lock:
            self._resources.clear()

    # -- verbs -------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj:
        r = self.resource(api_version, kind)
        return self._json("GET", r.path(namespace, name))

    def get_or_none(self, api_version: str, kind: str, name: str,
                    namespace: str | None = None) -> Obj | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except NotFound:
            return None

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> Obj:
        r = self.resource(api_version, kind)
        params = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        return self._json("GET", r.path(namespace), params=params)

    def items(self, api_version: str, kind: str, namespace: str | None = None,
              label_selector: str | None = None) -> list[Obj]:
        return self.list(api_version, kind, namespace, label_selector).get("items", [])

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        r = self.resource(obj["apiVersion"], obj["kind"])
        ns = namespace or obj.get("metadata", {}).get("namespace")
        return self._json("POST", r.path(ns), body=obj)

    def update(self, obj: Obj, subresource: str = "") -> Obj:
        r = self.resource(obj["apiVersion"], obj["kind"])
        md = obj["metadata"]
        return self._json("PUT", r.path(md.get("namespace"), md["name"], subresource), body=obj)

    def update_status(self, obj: Obj) -> Obj:
        return self.update(obj, "status")

    def patch(self, api_version: str, kind: str, name: str, patch: Any,
              namespace: str | None = None, patch_type: str = "merge",
              subresource: str = "") -> Obj:
        r = self.resource(api_version, kind)
        return self._json("PATCH", r.path(namespace, name, subresource), body=patch,
                          content_type=PATCH_TYPES[patch_type])

    def patch_status(self, api_version: str, kind: str, name: str, patch: Any,
                     namespace: str | None = None) -> Obj:
        return self.patch(api_version, kind, name, patch, namespace, "merge", "status")

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               propagation: str | None = None) -> Obj | None:
        r = self.resource(api_version, kind)
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        try:
            return self._json("DELETE", r.path(namespace, name), body=body)
        except NotFound:
            return None

    def watch(self, api_version: str, kind: str, namespace: str | None = None,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None, timeout_seconds: int | None = None,
              bookmarks: bool = False) -> Iterator[tuple[str, Obj]]:
        """Yield (type, object) events. Ends when the server closes the stream.

        Raises :class:`Gone` when ``resource_version`` is too old (the caller relists).
        """
        r = self.resource(api_version, kind)
        params: dict[str, Any] = {"watch": "true"}
        if resource_version:
            params["resourceVersion"] = resource_version
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        if bookmarks:
            params["allowWatchBookmarks"] = "true"
        read_timeout = (timeout_seconds or 300) + 30
        resp = self.request("GET", r.path(namespace), params=params, stream=True,
                            timeout=read_timeout)
        try:
            for line in resp.iter_lines():
                if not line:
                    continue
                ev = json.loads(line)
                if ev.get("type") == "ERROR":
                    st = ev.get("object", {})
                    code = int(st.get("code", 500))
                    raise _ERRORS.get(code, ApiError)(code, st.get("reason", ""),
                                                      st.get("message", ""), st)
                yield ev["type"], ev["object"]
        except TransportError as e:
            raise ApiUnavailable(f"watch on {r.plural} broken: {e}") from e
        finally:
            resp.close()


def _error(resp: Response) -> ApiError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    message = body.get("message", resp.text[:200]) if isinstance(body, dict) else resp.text[:200]
    cls = _ERRORS.get(resp.status_code, ApiError)
    if resp.status_code == 409 and reason == "AlreadyExists":
        cls = AlreadyExists
    return cls(resp.status_code, reason, message, body if isinstance(body, dict) else None)


def retry_on_conflict(fn: Callable[[], Obj], attempts: int = 5) -> Obj:
    """Run ``fn`` (read-modify-write) again when the write hit a 409 Conflict."""
    for i in range(attempts):
        try:
            return fn()
        except AlreadyExists:
            raise
        except Conflict:
            if i == attempts - 1:
                raise
    raise AssertionError("unreachable")
