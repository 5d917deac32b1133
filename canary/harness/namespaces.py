"""A namespace per scenario: the seed's ``namespace: test`` becomes ``test-<token>`` for one
scenario, so scenarios can run at once (``pytest -n 2``) and never meet a real ``test``
namespace on an existing cluster.

The rewrite is textual and applied where a feature's words reach the cluster: step arguments
(names, commands, YAML doc strings, expected messages) and the manifests the harness applies.
A name is a scenario's own namespace unless it is one of the cluster's shared ones
(:data:`SHARED`): the mesh, the installs, ``default`` and the system namespaces. In text,
a namespace is recognised where Kubernetes tools put one: ``namespace: N`` / ``namespace "N"``
/ ``namespace="N"`` (PromQL), ``-n N`` / ``--namespace[= ]N``, ``ns N`` / ``namespace N``
(``kubectl create|delete ns``), and a service host ``svc.N`` / ``svc.N.svc.cluster.local``.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

import yaml

SHARED = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "linkerd",
                    "linkerd-viz", "linkerd-smi", "flagger-system", "argo-rollouts",
                    "gateway-system", "cert-manager"})
MAX_NAME = 63  # a namespace is a DNS-1123 label
_NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_END = r"(?![a-z0-9-])"  # a whole name: test-x must not be read as test
# where a namespace name stands in commands, YAML, PromQL and step text
_CONTEXTS = [
    re.compile(r"(?P<pre>(?<![a-zA-Z])namespace:[ \t]*[\"']?)(?P<ns>" + _NAME + ")" + _END),
    re.compile(r"(?P<pre>(?<![a-zA-Z])namespace[ \t]+\")(?P<ns>" + _NAME + ")(?=\")"),
    re.compile(r"(?P<pre>(?<![a-zA-Z])namespace[ \t]*(?:=~|!~|!=|=)[ \t]*\")(?P<ns>" + _NAME
               + ")(?=\")"),
    re.compile(r"(?P<pre>(?:^|(?<=[\s;&|(]))(?:-n|--namespace)(?:=|[ \t]+))(?P<ns>" + _NAME
               + ")" + _END, re.MULTILINE),
    re.compile(r"(?P<pre>\b(?:create|delete|get|annotate|label|describe|edit|patch)[ \t]+"
               r"(?:ns|namespaces?)[ \t]+)(?P<ns>" + _NAME + ")" + _END),
    re.compile(r"(?P<pre>\b(?:ns|namespaces?)/)(?P<ns>" + _NAME + ")" + _END),
]


def scenario_name(namespace: str, token: str) -> str:
    """``test`` -> ``test-k3x9q``: still a DNS label, the token kept whole."""
    return f"{namespace[:MAX_NAME - len(token) - 1].rstrip('-')}-{token}"


def new_token(length: int = 5) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(alphabet) for _ in range(length - 1))


@dataclass
class NamespaceMap:
    """The feature's namespaces -> this scenario's. ``enabled`` False: every name as written.
    Either way it learns the namespaces the scenario names (``seen``): cleanup deletes only
    those of the namespaces that appeared during the scenario, never someone else's."""

    token: str = field(default_factory=new_token)
    enabled: bool = True
    mapping: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def actual(self, namespace: str) -> str:
        """The scenario's name for a namespace the feature names (shared ones unchanged)."""
        if namespace in self.mapping.values():
            return namespace
        self.seen.add(namespace)
        if not self.enabled or namespace in SHARED:
            return namespace
        if namespace not in self.mapping:
            self.mapping[namespace] = scenario_name(namespace, self.token)
        return self.mapping[namespace]

    def own(self) -> set[str]:
        """The namespaces this scenario names, by the names they have on the cluster."""
        return {self.actual(n) for n in self.seen}

    def text(self, text: str) -> str:
        """Every namespace in ``text`` (a command, YAML, a query, a message) -> the scenario's;
        applying it twice changes nothing."""
        if not text:
            return text
        for pattern in _CONTEXTS:
            text = pattern.sub(lambda m: m["pre"] + self.actual(m["ns"]), text)
        for written, actual in self.mapping.items():  # service hosts: podinfo.test[:9898]
            host = r"(?<=[a-z0-9]\.)" + re.escape(written) + _END + r"(?!\.(?!svc\b)[a-z0-9])"
            text = re.sub(host, actual, text)
        return text

    def manifest(self, text: str) -> str:
        """A YAML stream: its text rewritten, and a ``kind: Namespace`` object's own name."""
        text = self.text(text)
        if not re.search(r"^kind:[ \t]*Namespace[ \t]*$", text, re.M):
            return text
        docs = list(yaml.safe_load_all(text))
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "Namespace":
                md = doc.setdefault("metadata", {})
                md["name"] = self.actual(str(md.get("name", "")))
        if not self.enabled:
            return text
        return yaml.safe_dump_all([d for d in docs if d is not None], sort_keys=False)

    def argument(self, value: Any, step_text: str) -> Any:
        """A step argument: a bare name the step text calls a namespace, else its text."""
        for pattern in _CONTEXTS:  # `... in namespace "test"`: learn the names first
            for m in pattern.finditer(step_text):
                self.actual(m["ns"])
        if isinstance(value, str):
            if value in self.mapping:
                return self.mapping[value]
            return self.text(value)
        if isinstance(value, list):
            return [self.argument(v, step_text) for v in value]
        return value

    def describe(self) -> dict[str, str]:
        return dict(self.mapping)
