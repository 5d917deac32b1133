@flagger
Feature: The tutorial's Flagger section verbatim, install to cleanup, with the engine in-cluster
  The seed's commands in order, each through `I run` as a user types them: Flagger is installed
  with its Linkerd kustomization (on the sandbox served from the packaged equivalent, whose
  Deployment's image runs the bundled engine's Flagger loop as a pod with its service account),
  the demo and the Canary follow, and the release is promoted by that pod. Killing the pod in the
  middle of the rollout changes nothing a user sees: the Deployment brings it back and the weights
  move on as declared. The tutorial's cleanup then leaves nothing of the install or the demo.

  Scenario: Install, canary release with the controller pod killed mid-rollout, cleanup
    Given a cluster with Linkerd and Linkerd-Viz
    And the harness runs no engine of its own
    When I run "kubectl apply -k github.com/fluxcd/flagger/kustomize/linkerd"
    And I run "kubectl -n flagger-system rollout status deploy/flagger"
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And I run "kubectl -n test rollout status deploy podinfo"
    And I run:
      """
      kubectl apply -f - <<EOF
      apiVersion: flagger.app/v1beta1
      kind: Canary
      metadata:
        name: podinfo
        namespace: test
      spec:
        targetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: podinfo
        service:
          # service port number
          port: 9898
          # container port number or name (optional)
          targetPort: 9898
          # Reference to the Service that the generated HTTPRoute would attach to.
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: 10s
          threshold: 5
          stepWeight: 10
          maxWeight: 100
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
      ---
      apiVersion: flagger.app/v1beta1
      kind: MetricTemplate
      metadata:
        name: success-rate
        namespace: test
      spec:
        provider:
          type: prometheus
          address: http://prometheus.linkerd-viz:9090
        query: |
          sum(
            rate(
              response_total{
                namespace="{{ namespace }}",
                deployment=~"{{ target }}",
                classification!="failure",
                direction="inbound"
              }[{{ interval }}]
            )
          )
          /
          sum(
            rate(
              response_total{
                namespace="{{ namespace }}",
                deployment=~"{{ target }}",
                direction="inbound"
              }[{{ interval }}]
            )
          )
          * 100
      EOF
      """
    Then the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And the event "Initialization done! podinfo.test" is recorded for canary "podinfo" in namespace "test"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    And the canary "podinfo" in namespace "test" reaches phase "Progressing"
    And I remember the pods with label "app=flagger" in namespace "flagger-system"
    And I run "kubectl -n flagger-system delete pod -l app=flagger"
    Then the pods with label "app=flagger" in namespace "flagger-system" are replaced by a new ready pod
    And the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    # the sandbox stores RBAC without enforcing it; a kind cluster would refuse anything else
    And every API request the pods with label "app=flagger" in namespace "flagger-system" made is allowed by the ClusterRoles bound to their service account
    When I run "kubectl delete -k github.com/fluxcd/flagger/kustomize/linkerd && kubectl delete ns test"
    Then nothing the Flagger install created remains, nor the namespace "test"
