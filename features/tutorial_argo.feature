@argo
Feature: The tutorial's Argo Rollouts section, install to cleanup, with the engine in-cluster
  The seed's Argo commands through `I run`: the install URL (on the sandbox served from the
  packaged equivalent, whose Deployment runs the bundled engine's Rollout loop as a pod with
  leader election on, as Argo's default), the Gateway API plugin's ConfigMap and RBAC verbatim,
  the demo, then the corrected Rollout manifests (the seed's own expose port 8989 while the route
  sends to 9898, see argo_rollout.feature). The tutorial's cleanup deletes the two namespaces;
  as on a real cluster that leaves the cluster-scoped RBAC, which the scenario then removes.

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
    And I apply the manifest "../fixtures/manifests/argo-rollout-corrected.yaml"
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
    When I run "kubectl argo rollouts -n test promote rollouts-demo" with the kubectl plugin
    Then the rollout "rollouts-demo" in namespace "test" becomes "Healthy"
    And the rollout "rollouts-demo" in namespace "test" moved the HTTPRoute "argo-rollouts-http-route" through the weights its steps declare
    And the rollout "rollouts-demo" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1" as its stable revision
    When I run "kubectl delete ns argo-rollouts && kubectl delete ns test"
    Then nothing the Argo Rollouts install created in its namespace remains, nor the namespaces "argo-rollouts, test"
    # kubectl delete ns leaves cluster-scoped objects on any cluster: the install's and the plugin's RBAC
    When I run "kubectl delete clusterrolebinding argo-rollouts argo-controller && kubectl delete clusterrole argo-rollouts argo-controller-role"
    # its CRDs stay too, as on a real cluster (the harness's own CRDs are the same objects)
    Then nothing the Argo Rollouts install created remains but its CRDs, nor the namespaces "argo-rollouts, test"
