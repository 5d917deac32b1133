"""The sandbox Kubernetes API server: ``python -m canary.sandbox.apiserver --dir DIR --token T``.

Modules: ``server`` (HTTP, auth, watch streams), ``api`` (verbs with Kubernetes semantics),
``store`` (objects, resourceVersion, write-ahead log, watch history), ``watch`` (per-watch
filtering), ``gc`` (garbage collector, namespace and CRD cleanup), ``resources`` (built-in and
CRD-registered types, discovery), ``defaults``, ``validation``, ``schema`` (CRD structural
schemas: pruning, defaults, validation worded as kube-apiserver words it), ``namespaces``
(kube-root-ca.crt, the default ServiceAccount, Terminating conditions), ``paging``
(limit/continue), ``ssa`` (server-side apply), ``patching``, ``services`` (ClusterIPs,
dns.json), ``events`` (events.k8s.io view of core Events), ``openapi`` (the index kubectl's
field validation checks), ``protobuf`` (kubectl's typed-client bodies), ``tls``.

Choices where the sandbox is simpler than Kubernetes (each one invisible to the seed's commands):

- One port speaks HTTP and HTTPS (detected per connection). kubectl only sends its bearer token
  over TLS, so kubeconfigs name ``https://`` with the server's self-signed certificate
  (``DIR/store/apiserver.crt``, also ``config.json`` key ``api_ca_file``) as CA.
  /healthz, /livez, /readyz and /version answer without a token, as for anonymous users.
- Pods are deleted at once (no kubelet grace period) unless they carry finalizers; the node
  agent sees DELETED and stops the processes. ``gracePeriodSeconds`` is accepted and ignored.
- Server-side apply keeps ``managedFields`` for appliers only (``operation: Apply``); plain
  writes are not recorded as ``Update`` managers, and lists are owned whole (see ``ssa``).
- Protobuf request bodies are decoded for the kinds ``kubectl create <kind>`` sends (Namespace,
  ConfigMap, Secret, ServiceAccount, Service, Deployment, RBAC); other kinds get 415.
- ``limit``/``continue`` chunk lists, but later chunks come from the current state (no etcd
  snapshot); only the current state is kept, so a list at an exact older resourceVersion is 410
  Expired. The watch window starts when the server starts (as the watch cache does): a watch
  from an older version, e.g. after a restart or from resourceVersion=1, is 410 Expired.
- Conversion between CRD versions rewrites ``apiVersion`` only. CRD schemas are enforced
  (pruning, ``default``, type/enum/pattern/bounds/required/oneOf...; unknown fields are refused
  with ``fieldValidation=Strict``, kubectl's default), except ``x-kubernetes-validations`` (CEL)
  and string ``format``s.
- RBAC objects are stored, never enforced.
"""
