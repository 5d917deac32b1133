@argo
Feature: Abort, retry and promote (argoproj/argo-rollouts test/e2e/functional_test.go)
  Argo's functional e2e tests on the sandbox: nginx:1.19-alpine becomes podinfo, the sleep-job
  AnalysisTemplate (a Job sleeping 24h) a Prometheus metric whose `initialDelay` is 24h (a
  measurement that never finishes during the test, as the Job does not). UpdateSpec changes a
  pod-template annotation, as upstream's fixture does.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test"

  Scenario: Abort, retry, then promotion through a timed pause
    # test/e2e/functional_test.go:41 TestRolloutAbortRetryPromote (the event reasons it checks
    # are in needs_argo_engine.feature.wip)
    Given I apply:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: abort-retry-promote, namespace: test}
      spec:
        strategy:
          canary:
            steps:
            - setWeight: 50
            - pause: {duration: 3s}
        selector:
          matchLabels: {app: abort-retry-promote}
        template:
          metadata:
            labels: {app: abort-retry-promote}
          spec:
            containers:
            - name: abort-retry-promote
              image: quay.io/stefanprodan/podinfo:1.7.0
      """
    And the rollout "abort-retry-promote" in namespace "test" is "Healthy"
    When I update the spec of rollout "abort-retry-promote" in namespace "test"
    Then the rollout "abort-retry-promote" in namespace "test" is "Paused"
    And the rollout "abort-retry-promote" in namespace "test" has 1 pods of revision 1
    And the rollout "abort-retry-promote" in namespace "test" has 1 pods of revision 2
    When I abort the rollout "abort-retry-promote" in namespace "test"
    Then the rollout "abort-retry-promote" in namespace "test" is "Degraded"
    When I retry the rollout "abort-retry-promote" in namespace "test"
    Then the rollout "abort-retry-promote" in namespace "test" is "Paused" after any phases
    And the rollout "abort-retry-promote" in namespace "test" has 1 pods of revision 1
    And the rollout "abort-retry-promote" in namespace "test" has 1 pods of revision 2
    And the rollout "abort-retry-promote" in namespace "test" is "Healthy" after any phases
    And the rollout "abort-retry-promote" in namespace "test" has 0 pods of revision 1
    And the rollout "abort-retry-promote" in namespace "test" has 1 pods of revision 2

  Scenario: Full promotion from a timed pause, an analysis step and after an abort
    # test/e2e/functional_test.go:121 TestCanaryPromoteFull (promote --full clears the abort:
    # rollout/canary.go:377)
    Given I apply:
      """
      kind: AnalysisTemplate
      apiVersion: argoproj.io/v1alpha1
      metadata: {name: sleep-job, namespace: test}
      spec:
        metrics:
        - name: sleep-job
          count: 1
          initialDelay: 24h
          successCondition: result[0] >= 1
          provider:
            prometheus: {address: "http://prometheus.linkerd-viz:9090", query: "sum(up)"}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: canary-promote-full, namespace: test}
      spec:
        strategy:
          canary:
            # this analysis should not run because it has a starting step of 4 which we never get to
            analysis:
              templates:
              - templateName: sleep-job
              startingStep: 4
            steps:
            # upstream's 24h: a pause that outlasts the test; 10m keeps the waits' budget (the
            # timed pauses, time-scaled) short when something fails
            - pause: {duration: 10m}
            - analysis:
                templates:
                - templateName: sleep-job
            - pause: {}
            - analysis: # we should never get to step 4
                templates:
                - templateName: sleep-job
        selector:
          matchLabels: {app: canary-promote-full}
        template:
          metadata:
            labels: {app: canary-promote-full}
          spec:
            containers:
            - name: canary-promote-full
              image: quay.io/stefanprodan/podinfo:1.7.0
      """
    And the rollout "canary-promote-full" in namespace "test" is "Healthy"
    When I update the spec of rollout "canary-promote-full" in namespace "test"
    Then the rollout "canary-promote-full" in namespace "test" is "Paused" at step 0
    When I promote the rollout "canary-promote-full" in namespace "test"
    Then the inline AnalysisRun of rollout "canary-promote-full" in namespace "test" is "Running"
    And the rollout "canary-promote-full" in namespace "test" is "Progressing" at step 1
    And the rollout "canary-promote-full" in namespace "test" has 1 AnalysisRuns
    When I promote the rollout "canary-promote-full" in namespace "test"
    Then the rollout "canary-promote-full" in namespace "test" is "Paused" at step 2
    When I abort the rollout "canary-promote-full" in namespace "test"
    And I promote the rollout "canary-promote-full" in namespace "test" fully
    Then the rollout "canary-promote-full" in namespace "test" is "Healthy" after any phases
    And the rollout "canary-promote-full" in namespace "test" has 1 AnalysisRuns
