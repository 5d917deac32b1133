"""A container's environment and ``$(VAR)`` expansion, as the kubelet builds them."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping

from canary.kube.client import ApiError, ApiUnavailable, KubeClient

from .objects import Obj

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, ``$$`` escapes, rest stays."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env.get(name, m.group(0))
    return _REF.sub(sub, text)


def field_ref(pod: Obj, path: str) -> str | None:
    md = pod.get("metadata", {})
    simple = {
        "metadata.name": md.get("name"),
        "metadata.namespace": md.get("namespace"),
        "metadata.uid": md.get("uid"),
        "spec.nodeName": pod.get("spec", {}).get("nodeName") or "sandbox",
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName") or "default",
        "status.podIP": pod.get("status", {}).get("podIP"),
        "status.hostIP": "127.0.0.1",
    }
    if path in simple:
        return simple[path]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2), "")
    return None


def container_env(pod: Obj, container: Obj, client: KubeClient | None,
                  warn: Callable[[str], None]) -> dict[str, str]:
    """The container's own ``env`` (values, fieldRef, configMap/secret keys), in order."""
    ns = pod.get("metadata", {}).get("namespace") or "default"
    out: dict[str, str] = {}
    for i, e in enumerate(container.get("env") or []):
        name = e.get("name")
        if not name:
            continue
        if "value" in e or "valueFrom" not in e:
            out[name] = expand(str(e.get("value") or ""), out)
            continue
        src = e.get("valueFrom") or {}
        where = f"spec.containers[{container.get('name')}].env[{i}].valueFrom"
        if "fieldRef" in src:
            path = (src["fieldRef"] or {}).get("fieldPath", "")
            val = field_ref(pod, path)
            if val is None:
                warn(f"{where}.fieldRef: unsupported fieldPath {path!r}; {name} left unset")
                continue
            out[name] = val
        elif "configMapKeyRef" in src or "secretKeyRef" in src:
            kind = "ConfigMap" if "configMapKeyRef" in src else "Secret"
            ref = src.get("configMapKeyRef") or src.get("secretKeyRef") or {}
            val = _key_ref(client, kind, ns, ref)
            if val is None:
                if not ref.get("optional"):
                    warn(f"{where}: {kind.lower()} key {ref.get('name')}/{ref.get('key')} "
                         f"not found; {name} left unset")
                continue
            out[name] = val
        else:
            warn(f"{where}: only fieldRef, configMapKeyRef and secretKeyRef are supported in "
                 f"the sandbox; {name} left unset")
    return out


def _key_ref(client: KubeClient | None, kind: str, ns: str, ref: Obj) -> str | None:
    if client is None or not ref.get("name"):
        return None
    try:
        obj = client.get_or_none("v1", kind, ref["name"], ns)
    except (ApiError, ApiUnavailable):
        return None
    if not obj:
        return None
    key = ref.get("key", "")
    if kind == "Secret":
        data = obj.get("data") or {}
        if key in data:
            return base64.b64decode(data[key]).decode(errors="replace")
        return (obj.get("stringData") or {}).get(key)
    return (obj.get("data") or {}).get(key)
