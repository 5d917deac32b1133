@argo
Feature: The tutorial's Argo Rollouts section verbatim, install to cleanup, with the engine in-cluster
  The seed's Argo commands in order, each through `I run` as a user types them: the install URL
  (on the sandbox served from the packaged equivalent of the release's install.yaml, whose
  Deployment's image runs the bundled engine's Rollout loop as a pod, leader election on as
  Argo's default), the Gateway API plugin's ConfigMap and RBAC, the demo, the seed's Services,
  HTTPRoute and Rollout (their port 8989 against the route's 9898 breaks the traffic, see
  argo_rollout.feature, but not the Rollout's steps), `set image`. The seed stops at the
  indefinite pause; `promote` (the plugin's verb) lets it finish. Killing the controller pod at
  the pause changes nothing a user sees: the Deployment brings it back, the new pod takes the
  Lease and the weights go on as declared. The seed's `get rollout --watch` and `watch linkerd viz
  stat` lines only watch and are not run here.
  The tutorial's cleanup deletes the two namespaces. On any cluster that leaves the install's
  cluster-scoped objects (its five CRDs, four ClusterRoles, ClusterRoleBinding) and the plugin's
  ClusterRole and ClusterRoleBinding: the scenario asserts exactly that, then removes the RBAC
  as a user would (the CRDs are the harness's own too and stay; the Experiment CRD goes with
  the harness's teardown).

  Scenario: Install, promoted release with the controller pod killed at the pause, cleanup
    Given a cluster with Linkerd and Linkerd-Viz
    And the harness runs no engine of its own
    When I run "kubectl create namespace argo-rollouts && kubectl apply -n argo-rollouts -f https://github.com/argoproj/argo-rollouts/releases/latest/download/install.yaml"
    And I run "kubectl -n argo-rollouts rollout status deploy/argo-rollouts"
    And I run:
      """
      kubectl apply -f - <<EOF
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: argo-rollouts-config # must be so name
        namespace: argo-rollouts # must be in this namespace
      data:
        trafficRouterPlugins: |-
          - name: "argoproj-labs/gatewayAPI"
            location: "https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/v0.0.0-rc1/gateway-api-plugin-linux-amd64"
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata:
        name: argo-controller-role
        namespace: argo-rollouts
      rules:
        - apiGroups:
            - gateway.networking.k8s.io
          resources:
            - httproutes
          verbs:
            - "*"
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRoleBinding
      metadata:
        name: argo-controller
      roleRef:
        apiGroup: rbac.authorization.k8s.io
        kind: ClusterRole
        name: argo-controller-role
      subjects:
        - namespace: argo-rollouts
          kind: ServiceAccount
          name: argo-rollouts
      EOF
      """
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And I run "kubectl -n test rollout status deploy podinfo"
    And I run:
      """
      kubectl apply -f - <<EOF
      apiVersion: gateway.networking.k8s.io/v1beta1
      kind: HTTPRoute
      metadata:
        name: argo-rollouts-http-route
        namespace: test
      spec:
        parentRefs:
          - name: podinfo
            namespace: test
            kind: Service
            group: core
            port: 9898
        rules:
          - backendRefs:
              - name: podinfo-stable
                namespace: test
                port: 9898
              - name: podinfo-canary
                namespace: test
                port: 9898
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: podinfo-canary
        namespace: test
      spec:
        ports:
          - port: 8989
            targetPort: 8989
            protocol: TCP
            name: http
        selector:
          app: podinfo
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: podinfo-stable
        namespace: test
      spec:
        ports:
          - port: 8989
            targetPort: 8989
            protocol: TCP
            name: http
        selector:
          app: podinfo
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: rollouts-demo
        namespace: test
      spec:
        replicas: 1
        strategy:
          canary:
            canaryService: podinfo-canary # our created canary service
            stableService: podinfo-stable # our created stable service
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoute: argo-rollouts-http-route # our created httproute
                  namespace: test
            steps:
              - setWeight: 30
              - pause: {}
              - setWeight: 40
              - pause: { duration: 10 }
              - setWeight: 60
              - pause: { duration: 10 }
              - setWeight: 80
              - pause: { duration: 10 }
        revisionHistoryLimit: 2
        selector:
          matchLabels:
            app: podinfo
        template:
          metadata:
            labels:
              app: podinfo
          spec:
            containers:
              - name: podinfod
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports:
                  - containerPort: 9898
                    protocol: TCP
      EOF
      """
    Then the rollout "rollouts-demo" in namespace "test" is "Healthy"
    When I run with the kubectl plugin:
      """
      kubectl argo rollouts -n test set image rollouts-demo \
        podinfod=quay.io/stefanprodan/podinfo:1.7.1
      """
    Then the rollout "rollouts-demo" in namespace "test" is "Paused" at step 1 with canary weight 30
    When I remember the pods with label "app.kubernetes.io/name=argo-rollouts" in namespace "argo-rollouts"
    And I run "kubectl -n argo-rollouts delete pod -l app.kubernetes.io/name=argo-rollouts"
    Then the pods with label "app.kubernetes.io/name=argo-rollouts" in namespace "argo-rollouts" are replaced by a new ready pod
    And the Lease "argo-rollouts-controller-lock" in namespace "argo-rollouts" is held by the new pod
    And the rollout "rollouts-demo" in namespace "test" is "Paused" at step 1 with canary weight 30
    When I run "kubectl argo rollouts -n test promote rollouts-demo" with the kubectl plugin
    Then the rollout "rollouts-demo" in namespace "test" becomes "Healthy"
    And the rollout "rollouts-demo" in namespace "test" moved the HTTPRoute "argo-rollouts-http-route" through the weights its steps declare
    And the rollout "rollouts-demo" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1" as its stable revision
    # the sandbox stores RBAC without enforcing it; a kind cluster would refuse anything else
    And every API request the pods with label "app.kubernetes.io/name=argo-rollouts" in namespace "argo-rollouts" made is allowed by the ClusterRoles bound to their service account
    When I run "kubectl delete ns argo-rollouts && kubectl delete ns test"
    # as on a real cluster: a namespace's deletion never removes cluster-scoped objects
    Then of the Argo Rollouts install only its cluster-scoped objects remain, nor the namespaces "argo-rollouts, test"
    And the cluster-scoped objects "ClusterRole argo-controller-role, ClusterRoleBinding argo-controller" remain
    When I run "kubectl delete clusterrolebinding argo-rollouts argo-controller && kubectl delete clusterrole argo-rollouts argo-rollouts-aggregate-to-admin argo-rollouts-aggregate-to-edit argo-rollouts-aggregate-to-view argo-controller-role"
    Then nothing the Argo Rollouts install created remains but its CRDs, nor the namespaces "argo-rollouts, test"
