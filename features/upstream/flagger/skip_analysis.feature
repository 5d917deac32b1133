@flagger
Feature: skipAnalysis (Flagger's test/istio/test-skip-analysis.sh)
  Flagger's skip-analysis e2e test on Linkerd's shape (a Service parentRef added to the Canary,
  which Istio does without) and the Linkerd demo's podinfo: a new revision is promoted at once,
  without analysis; a revision whose image does not exist fails when its progress deadline passes.

  Scenario: Promoted without analysis, then a bad image fails
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    # fluxcd/flagger test/istio/test-skip-analysis.sh:9
    And I apply:
      """
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
        progressDeadlineSeconds: 60
        service:
          port: 9898
          portDiscovery: true
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        skipAnalysis: true
        analysis:
          interval: 15s
          threshold: 15
          maxWeight: 30
          stepWeight: 10
      """
    # test-skip-analysis.sh:45
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    # test-skip-analysis.sh:58
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    # test-skip-analysis.sh:65 and :83
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    And the event "Promotion completed! Canary analysis was skipped for podinfo.test" is recorded for canary "podinfo" in namespace "test"
    # test-skip-analysis.sh:100
    When I run "kubectl -n test set image deployment/podinfo podinfod=stefanprodan/potato:1.0.0"
    # test-skip-analysis.sh:107
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    # test-skip-analysis.sh:124: the primary keeps serving
    And the deployment "podinfo-primary" in namespace "test" has 1 replicas
