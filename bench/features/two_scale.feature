@flagger
Feature: Rollbacks whose checks all fail, for bench/two_scale_check.py
  The fault load starts before the release, as a user would leave `watch curl` running from the
  loadtester (linkerd-podinfo.md §6: /status/500 for errors, /delay/1 for latency), so every
  analysis of the canary sees it and the weight sequence does not depend on how long a pod takes
  to start in wall time. The demo's load generator is stopped first: the fault load is the
canary's only client, so answers from another client cannot reach Prometheus before the first
faulty ones and pass the first check. Not part of the suite: features/ holds the scenarios users
read.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out

  Scenario: Error-rate rollback with /status/500 load already running
    Given I apply the manifest "podinfo-canary.yaml"
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test scale deployment/load --replicas=0"
    And I send load to "http://podinfo-canary.test:9898/status/500" from a meshed load generator "fault-load" in namespace "test"
    Then the deployment "fault-load" in namespace "test" is rolled out
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"

  Scenario: Latency rollback with /delay/1 load already running
    Given I apply:
      """
      apiVersion: flagger.app/v1beta1
      kind: MetricTemplate
      metadata:
        name: latency-p99
        namespace: test
      spec:
        provider:
          type: prometheus
          address: http://prometheus.linkerd-viz:9090
        query: |
          histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="{{ namespace }}", deployment=~"{{ target }}", direction="inbound"}[{{ interval }}])) by (le))
      ---
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
          maxWeight: 100
          metrics:
          - name: latency-p99
            templateRef:
              name: latency-p99
              namespace: test
            thresholdRange:
              max: 500
            interval: 1m
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test scale deployment/load --replicas=0"
    And I send load to "http://podinfo-canary.test:9898/delay/1" from a meshed load generator "slow-load" in namespace "test"
    Then the deployment "slow-load" in namespace "test" is rolled out
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And Linkerd saw a p99 latency above 500 ms for deployment "podinfo" in namespace "test" during the rollout of canary "podinfo"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
