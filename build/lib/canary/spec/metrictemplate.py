"""MetricTemplate (flagger.app/v1beta1): parse and validate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canary.spec.errors import SpecError
from canary.spec.fields import Reader

SUPPORTED_PROVIDERS = ("prometheus",)


@dataclass(frozen=True)
class MetricTemplateSpec:
    name: str
    namespace: str
    provider_type: str
    address: str
    query: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    secret_ref: str = ""
    insecure_skip_verify: bool = False


def parse_metric_template(obj: dict[str, Any]) -> MetricTemplateSpec:
    r = Reader()
    md = obj.get("metadata") or {}
    name, ns = md.get("name", ""), md.get("namespace") or "default"
    spec = r.mapping(obj.get("spec"), "spec", required=True)
    prov = r.mapping(spec.get("provider"), "spec.provider", required=True)
    ptype = r.string(prov.get("type"), "spec.provider.type", required=True)
    if ptype and ptype not in SUPPORTED_PROVIDERS:
        r.bad("spec.provider.type", f"provider {ptype!r} is not supported (only prometheus)")
    address = r.string(prov.get("address"), "spec.provider.address")
    if address and not address.startswith(("http://", "https://")):
        r.bad("spec.provider.address", f"prometheus address {address} is not a valid URL")
    query = r.string(spec.get("query"), "spec.query", required=True)
    headers: dict[str, list[str]] = {}
    for k, v in r.mapping(prov.get("headers"), "spec.provider.headers").items():
        headers[str(k)] = [str(x) for x in v] if isinstance(v, list) else [str(v)]
    secret = r.mapping(prov.get("secretRef"), "spec.provider.secretRef").get("name", "")
    if r.problems:
        raise SpecError("MetricTemplate", f"{name}.{ns}", r.problems)
    return MetricTemplateSpec(name=name, namespace=ns, provider_type=ptype, address=address,
                              query=query, headers=headers, secret_ref=str(secret or ""),
                              insecure_skip_verify=bool(prov.get("insecureSkipVerify")))
