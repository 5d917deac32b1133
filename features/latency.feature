@flagger
Feature: A slow release is rolled back on p99 latency, at any time scale
  A Canary gated on the p99 of Linkerd's response_latency_ms histogram (threshold 500 ms over a
  1m window). podinfo's --random-delay makes a revision wait 0 to 4 whole seconds per request, so
  its p99 is seconds and it must be rolled back; a plain revision answers in milliseconds and is
  promoted. The time scale compresses the schedule only: the latency Linkerd reports is the
  latency a cluster would see (docs/time-scale.md), so both verdicts hold at every scale.
  Flagger's builtin request-duration metric is not covered here (issue 11 adds builtin metrics).
  The plain revision goes first: at scale 1 the slow revision's answers stay in Prometheus' 1m
  window for a minute after its namespace is gone, and would fail the next canary named podinfo.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And I apply:
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

  Scenario: A plain revision is promoted
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And Linkerd saw a p99 latency below 500 ms for deployment "podinfo" in namespace "test" during the rollout of canary "podinfo"
    And Linkerd saw a p99 latency below 500 ms for deployment "podinfo-primary" in namespace "test" during the rollout of canary "podinfo"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"

  Scenario: The new revision runs podinfo with --random-delay
    When I start a new revision of deployment "podinfo" in namespace "test" with image "quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-delay" flag
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      New revision detected! Scaling up podinfo.test
      Starting canary analysis for podinfo.test
      Rolling back podinfo.test failed checks threshold reached 5
      Canary failed! Scaling down podinfo.test
      """
    # the first check may find no canary answer scraped yet; the others judge the latency
    And the canary "podinfo" in namespace "test" halted on "latency-p99" above its threshold at least 3 times
    And Linkerd saw a p99 latency above 1000 ms for deployment "podinfo" in namespace "test" during the rollout of canary "podinfo"
    # not the p50: podinfo draws one delay per second and 1 second in 5 waits 0 s, while
    # slow_cooker's workers wait for each answer, so the fast seconds hold about half of the
    # answers (54 % and more were measured; on a cluster too) and p50 can be milliseconds
    And Linkerd saw a p90 latency at least 1000 ms for deployment "podinfo" in namespace "test" during the rollout of canary "podinfo"
    And Linkerd saw a p99 latency below 500 ms for deployment "podinfo-primary" in namespace "test" during the rollout of canary "podinfo"
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
