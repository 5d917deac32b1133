"""The sandbox node agent (``python -m canary.sandbox.node --dir DIR``).

One process plays the parts of a one-node cluster's control plane and kubelet:

- ``deployments``/``rollout``: the deployment controller (ReplicaSets ``<deploy>-<hash>``,
  revisions, RollingUpdate with maxSurge/maxUnavailable, Recreate, pause, history cleanup,
  status and the ``Available``/``Progressing`` conditions ``kubectl rollout status`` reads);
- ``replicasets``: the ReplicaSet controller (Pods ``<rs>-<5 chars>``, scale-down order, status);
- ``endpoints``: Endpoints and EndpointSlices for Services with a selector;
- ``pods``: the kubelet. Each container is a local process in its own session, started through
  the image registry (``canary.sandbox.images``) with env ``POD_IP``, ``POD_NAME``,
  ``POD_NAMESPACE``, ``HOSTNAME``, ``CANARY_SANDBOX_DIR``, ``CANARY_MESHED``,
  ``CANARY_TIME_SCALE`` and the container's ``env``; stdout/stderr go to
  ``DIR/logs/pods/<ns>_<pod>_<container>.log``. Pod IPs come from 127.1.0.0/16 (``ipam``).

Sandbox conveniences that differ from Kubernetes:

- A container without a readiness probe becomes ready once its first declared TCP
  ``containerPort`` accepts connections on the pod IP (Kubernetes marks it ready as soon as
  it runs), so traffic is never routed to a process that is not listening yet.
- Probe periods, delays, crash back-offs, grace periods and ``progressDeadlineSeconds`` are
  multiplied by ``config.json`` ``time_scale``; probe periods never go below 50 ms and the
  SIGTERM grace period is capped at 3 s of wall time. Startup and liveness probe failures in
  the first 2 s of wall time after a start do not count: starting a program is not shrunk by
  the time scale.
- Pods of a meshed workload (``linkerd.io/inject: enabled`` on the pod template or namespace)
  get the labels Linkerd's proxy injector adds (``linkerd.io/proxy-deployment``,
  ``linkerd.io/workload-ns``, ``linkerd.io/control-plane-ns``).

State kept in ``DIR/node/``: ``processes.json`` (pid, start time, pod of every container process
so a restarted agent kills what a previous run left) and ``ipam.json`` (pod IP allocations).
"""
