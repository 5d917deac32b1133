@flagger
Feature: revertOnDeletion (Flagger's test/istio/test-canary.sh "Delete testing")
  Flagger's delete test, on Linkerd's shape (a Service parentRef instead of Istio's
  VirtualService; the seed's MetricTemplate): a Canary with revertOnDeletion carries Flagger's
  finalizer, and deleting it gives the target Deployment back its replicas while everything the
  canary generated is removed. Without revertOnDeletion the target stays at zero replicas
  (reference flagger.md §3.10, issue fluxcd/flagger#853).

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "frontend" in namespace "test" is rolled out
    And I apply the manifest "success-rate-template.yaml"

  Scenario: Deleting the Canary restores the target and removes the generated objects
    # fluxcd/flagger test/istio/test-canary.sh:354 (revertOnDeletion: true)
    Given I apply:
      """
      apiVersion: flagger.app/v1beta1
      kind: Canary
      metadata:
        name: podinfo
        namespace: test
      spec:
        revertOnDeletion: true
        targetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: podinfo
        progressDeadlineSeconds: 60
        service:
          port: 9898
          targetPort: 9898
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
          maxWeight: 50
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    # test-canary.sh:414
    Then the canary "podinfo" in namespace "test" has "metadata.finalizers" "finalizer.flagger.app" within 100s
    And the deployment "podinfo" in namespace "test" has 0 replicas
    # test-canary.sh:424
    When I run "kubectl delete canary podinfo -n test"
    # test-canary.sh:431
    Then the deployment "podinfo" in namespace "test" has "spec.replicas" "1" within 100s
    And the deployment "podinfo" in namespace "test" is rolled out
    And the objects the engine generated for canary "podinfo" in namespace "test" are gone
    And the service "podinfo" in namespace "test" has "spec.selector.app" "podinfo" within 10s
    And the frontend in namespace "test" answers with version "1.7.0"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      Initialization done! podinfo.test
      Terminating canary podinfo.test
      Terminated canary podinfo.test
      """
