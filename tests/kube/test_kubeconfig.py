import base64
import json

import pytest
import yaml

from canary.kube.client import ApiUnavailable, KubeClient, KubeConfig


def _write(tmp_path, doc):
    p = tmp_path / "kubeconfig"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


def test_loads_token_namespace_and_ca_from_current_context(tmp_path):
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    path = _write(tmp_path, {
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443/",
                                               "certificate-authority-data": ca}}],
        "users": [{"name": "u", "user": {"token": "abc"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "test"}}],
        "current-context": "x",
    })
    cfg = KubeConfig.load(path)
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.token == "abc"
    assert cfg.namespace == "test"
    assert isinstance(cfg.verify, str)


def test_unknown_context_is_a_clear_error(tmp_path):
    path = _write(tmp_path, {"contexts": [], "current-context": "nope"})
    with pytest.raises(ApiUnavailable, match="context 'nope' not found"):
        KubeConfig.load(path)


def test_unreachable_api_server_names_the_server():
    client = KubeClient(KubeConfig(server="http://127.0.0.1:9"), timeout=1)
    with pytest.raises(ApiUnavailable, match="127.0.0.1:9 unreachable"):
        client.get("v1", "Namespace", "default")


# -- against a real API server: kubeconfigs as clusters in the wild write them -----------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from support.apiserver import ApiServer

    s = ApiServer(tmp_path_factory.mktemp("kubeconfig-api"))
    s.start()
    yield s
    s.stop()


def _sandbox_doc(server, user: dict, name: str = "sandbox") -> dict:
    doc = yaml.safe_load(server.kubeconfig.read_text())
    doc["contexts"][0]["name"] = doc["current-context"] = name
    doc["users"][0]["user"] = user
    return doc


def _works(cfg: KubeConfig) -> bool:
    return any(n["metadata"]["name"] == "default"
               for n in KubeClient(cfg).items("v1", "Namespace"))


def test_merged_kubeconfig_list_reads_the_context_from_the_second_file(server, tmp_path,
                                                                       monkeypatch):
    a = tmp_path / "a"
    a.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "prod", "user": {"token": "x"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}]}))
    b = tmp_path / "b"
    b.write_text(yaml.safe_dump(_sandbox_doc(server, {"token": server.token})))
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    assert _works(KubeConfig.load())
    with pytest.raises(ApiUnavailable, match="127.0.0.1:9 unreachable"):
        KubeClient(KubeConfig.load(context="prod"), timeout=1).items("v1", "Namespace")


def test_exec_credential_plugin_supplies_the_token(server, tmp_path):
    plugin = tmp_path / "get-token"
    plugin.write_text("#!/bin/sh\ncat <<EOF\n" + json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
        "status": {"token": server.token}}) + "\nEOF\n")
    plugin.chmod(0o755)
    doc = _sandbox_doc(server, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
        "interactiveMode": "Never"}})
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    cfg = KubeConfig.load(str(path))
    assert cfg.token == server.token
    assert _works(cfg)


def test_token_file(server, tmp_path):
    (tmp_path / "token").write_text(server.token)
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(_sandbox_doc(server, {"tokenFile": str(tmp_path / "token")})))
    assert _works(KubeConfig.load(str(path)))


@pytest.mark.parametrize("text, message", [
    ("clusters: [oops", "is malformed"),
    ("- just\n- a list\n", "expected a mapping"),
    ("apiVersion: v1\nkind: Config\ncontexts: []\n", "no current-context is set"),
])
def test_malformed_kubeconfigs_get_one_line(tmp_path, text, message):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(ApiUnavailable, match=message) as e:
        KubeConfig.load(str(path))
    assert "\n" not in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("method, path, params, expected", [
    ("GET", "/api/v1/namespaces/test/pods", None, ("list", "pods")),
    ("GET", "/api/v1/namespaces/test/pods", {"watch": "true"}, ("watch", "pods")),
    ("GET", "/apis/flagger.app/v1beta1/namespaces/test/canaries/podinfo", None,
     ("get", "canaries")),
    ("PATCH", "/apis/flagger.app/v1beta1/namespaces/test/canaries/podinfo/status", None,
     ("patch", "canaries/status")),
    ("POST", "/api/v1/namespaces/test/events", None, ("create", "events")),
    ("GET", "/api/v1/namespaces", None, ("list", "namespaces")),
    ("GET", "/apis/apps/v1", None, ("get", "discovery")),
])
def test_requests_are_named_by_verb_and_resource(method, path, params, expected):
    from canary.kube.client import request_verb

    assert request_verb(method, path, params) == expected


def test_every_request_is_observed_with_its_status(server):
    seen = []
    client = KubeClient.from_kubeconfig(str(server.kubeconfig))
    client.on_request = lambda *a: seen.append(a)
    client.items("v1", "Namespace")
    client.get_or_none("v1", "ConfigMap", "nope", "default")
    assert ("list", "namespaces", 200) in seen and ("get", "configmaps", 404) in seen
