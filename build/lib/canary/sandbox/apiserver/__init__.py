"""The sandbox Kubernetes API server: ``python -m canary.sandbox.apiserver --dir DIR --token T``.

Modules: ``server`` (HTTP, auth, watch streams), ``api`` (verbs with Kubernetes semantics),
``store`` (objects, resourceVersion, write-ahead log, watch history), ``watch`` (per-watch
filtering), ``gc`` (garbage collector, namespace and CRD cleanup), ``resources`` (built-in and
CRD-registered types, discovery), ``defaults``, ``validation``, ``patching``, ``services``
(ClusterIPs, dns.json), ``events`` (events.k8s.io view of core Events), ``openapi`` (the index
kubectl's field validation checks), ``protobuf`` (kubectl's typed-client bodies), ``tls``.

Choices where the sandbox is simpler than Kubernetes (each one invisible to the seed's commands):

- One port speaks HTTP and HTTPS (detected per connection). kubectl only sends its bearer token
  over TLS, so kubeconfigs name ``https://`` with the server's self-signed certificate
  (``DIR/store/apiserver.crt``, also ``config.json`` key ``api_ca_file``) as CA.
  /healthz, /livez, /readyz and /version answer without a token, as for anonymous users.
- Pods are deleted at once (no kubelet grace period) unless they carry finalizers; the node
  agent sees DELETED and stops the processes. ``gracePeriodSeconds`` is accepted and ignored.
- Server-side apply (``application/apply-patch+yaml``) is a JSON merge patch that creates a
  missing object; no managedFields are kept.
- Protobuf request bodies are decoded for the kinds ``kubectl create <kind>`` sends (Namespace,
  ConfigMap, Secret, ServiceAccount, Service, Deployment, RBAC); other kinds get 415.
- ``limit``/``continue`` are ignored (lists are complete); only the current state is kept, so a
  list at an exact older resourceVersion is 410 Expired.
- Conversion between CRD versions rewrites ``apiVersion`` only. Schemas are not enforced.
- RBAC objects are stored, never enforced.
"""
