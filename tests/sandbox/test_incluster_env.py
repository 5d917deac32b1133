"""What the node agent gives a pod for the API: the service-account files a real pod has mounted,
``KUBERNETES_SERVICE_HOST``/``PORT``, and an API address that a pod (whose 127.0.0.1 is itself)
can reach."""

from __future__ import annotations

import json
import socket
import threading

from canary.sandbox import incluster


def _echo_server() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.sendall(b"api:" + conn.recv(100))

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def test_a_pod_gets_its_service_account_and_a_reachable_api_address(tmp_path):
    srv, port = _echo_server()
    ca = tmp_path / "apiserver.crt"
    ca.write_text("CERT")
    (tmp_path / "config.json").write_text(json.dumps(
        {"api_port": port, "token": "s3cret", "api_ca_file": str(ca)}))
    pod = {"metadata": {"name": "flagger-abc", "namespace": "flagger-system"}, "spec": {}}
    env = incluster.pod_env(tmp_path, pod)
    assert env["KUBERNETES_SERVICE_HOST"] == incluster.API_HOST != "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == str(port)
    sa = tmp_path / "node" / "serviceaccounts" / "flagger-system_flagger-abc"
    assert env["CANARY_SERVICEACCOUNT_DIR"] == str(sa)
    assert (sa / "token").read_text() == "s3cret"
    assert (sa / "ca.crt").read_text() == "CERT"
    assert (sa / "namespace").read_text() == "flagger-system"
    with socket.create_connection((incluster.API_HOST, port), timeout=5) as c:
        c.sendall(b"hello")
        assert c.recv(100) == b"api:hello"
    srv.close()
    incluster.unmount_service_account(tmp_path, "flagger-system", "flagger-abc")
    assert not sa.exists()


def test_a_pod_that_opts_out_gets_no_token(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"api_port": 1, "token": "t"}))
    pod = {"metadata": {"name": "p", "namespace": "n"},
           "spec": {"automountServiceAccountToken": False}}
    assert incluster.pod_env(tmp_path, pod) == {}
    assert not (tmp_path / "node" / "serviceaccounts").exists()


def test_the_client_loads_the_mounted_service_account_as_in_a_pod(tmp_path, monkeypatch):
    from canary.kube.client import KubeConfig, KubeconfigError

    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("tok")
    (sa / "ca.crt").write_text("CERT")
    (sa / "namespace").write_text("flagger-system")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", incluster.API_HOST)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    monkeypatch.setenv("CANARY_SERVICEACCOUNT_DIR", str(sa))
    cfg = KubeConfig.in_cluster()
    assert cfg.server == f"https://{incluster.API_HOST}:6443"
    assert cfg.token == "tok" and cfg.verify == str(sa / "ca.crt")
    assert cfg.namespace == "flagger-system"
    (sa / "token").unlink()
    try:
        KubeConfig.in_cluster()
    except KubeconfigError as e:
        assert "in-cluster configuration" in str(e) and "token" in str(e).lower()
    else:
        raise AssertionError("a missing token must be refused")
