import base64

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
