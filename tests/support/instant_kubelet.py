"""A perfect node agent for engine tests on a bare API server: every ReplicaSet's pods exist and
are ready as soon as it asks for them."""

from __future__ import annotations

from canary.kube.client import ApiError, ApiUnavailable, Conflict, KubeClient


def make_replicasets_ready(client: KubeClient, namespace: str) -> None:
    """One pass: each ReplicaSet's status says all its replicas are there and available."""
    try:
        for rs in client.items("apps/v1", "ReplicaSet", namespace):
            n = rs["spec"].get("replicas", 1)
            st = rs.get("status") or {}
            if st.get("availableReplicas", 0) != n or st.get("replicas", 0) != n:
                rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n,
                                "observedGeneration": rs["metadata"].get("generation")}
                try:
                    client.update_status(rs)
                except Conflict:
                    pass
    except (ApiError, ApiUnavailable):
        pass  # the API server restarting under a test: the next pass catches up
