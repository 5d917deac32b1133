"""The mesh keeps routing through an API server restart (new token) and follows changes after."""

from __future__ import annotations

import time

import pytest
from support.mesh_backends import Backend, call, random_net
from support.mesh_objects import endpoints, httproute, namespace, pod, service
from support.mesh_stack import Stack

pytestmark = pytest.mark.timeout(90)


def test_api_server_restart_with_a_new_token(tmp_path):
    st = Stack(tmp_path)
    pods_net, _ = random_net()
    primary, canary = Backend("primary", pods_net + "1"), Backend("canary", pods_net + "2")
    try:
        client = st.start_apiserver()
        st.install_httproute_crd()
        st.start_mesh()
        client.create(namespace("test", meshed=True))
        load = pod("load", pods_net + "3")
        created = client.create({k: v for k, v in load.items() if k != "status"})
        client.update_status({**created, "status": load["status"]})
        ips = {}
        for name, b in (("podinfo", primary), ("podinfo-primary", primary),
                        ("podinfo-canary", canary)):
            svc = service(name, "", 9898, b.port)
            del svc["spec"]["clusterIP"]
            ips[name] = client.create(svc)["spec"]["clusterIP"]
            client.create(endpoints(name, [pod(name, b.ip, port=b.port)], b.port))
        client.create(httproute(100, 0))
        deadline = time.monotonic() + 10
        while not st.listening(ips["podinfo"], 9898):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert call(ips["podinfo"], 9898, "/", source=load["status"]["podIP"])[1]["name"] == \
            "primary"

        client = st.restart_apiserver()
        # Traffic keeps flowing from the cache while the API server is away and back.
        assert call(ips["podinfo"], 9898, "/", source=load["status"]["podIP"])[0] == 200
        route = client.get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo", "test")
        route["spec"] = httproute(0, 100)["spec"]
        client.update(route)
        deadline = time.monotonic() + 10
        while call(ips["podinfo"], 9898, "/", source=load["status"]["podIP"])[1]["name"] != \
                "canary":
            assert time.monotonic() < deadline, "mesh did not follow the route after restart"
            time.sleep(0.05)
    finally:
        st.stop()
        primary.stop()
        canary.stop()
