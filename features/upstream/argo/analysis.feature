@argo
Feature: Analysis of a canary (argoproj/argo-rollouts test/e2e/analysis_test.go)
  Argo's analysis e2e tests on the sandbox. Their Job and Web providers become Prometheus metrics
  on the sandbox's real Prometheus (`sum(up)`, the number of scrape targets up): a Job that exits
  0 is a metric whose successCondition holds, a Job that exits 1 one whose successCondition does
  not, a Job sleeping for a long time an `initialDelay` that outlasts the test; the Web metric's
  `result.major == '1'` becomes `result[0] >= 1` and the inconclusive one keeps neither of its
  conditions true. nginx:1.19-alpine becomes podinfo (UpdateSpec changes a pod-template
  annotation, as upstream's fixture does).

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test"
    # test/e2e/functional/analysistemplate-{web-background,web-background-inconclusive,sleep-job,fail-multiple-job}.yaml
    And I apply:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: AnalysisTemplate
      metadata: {name: web-background, namespace: test}
      spec:
        metrics:
        - name: web
          interval: 5s
          successCondition: result[0] >= 1
          provider:
            prometheus: {address: "http://prometheus.linkerd-viz:9090", query: "sum(up)"}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: AnalysisTemplate
      metadata: {name: web-background-inconclusive, namespace: test}
      spec:
        metrics:
          - name: web
            interval: 5s
            inconclusiveLimit: 3
            successCondition: result[0] == 999
            failureCondition: result[0] == -1
            provider:
              prometheus: {address: "http://prometheus.linkerd-viz:9090", query: "sum(up)"}
      ---
      kind: AnalysisTemplate
      apiVersion: argoproj.io/v1alpha1
      metadata: {name: sleep-job, namespace: test}
      spec:
        metrics:
        - name: sleep-job
          count: 1
          successCondition: result[0] >= 1
          provider:
            prometheus: {address: "http://prometheus.linkerd-viz:9090", query: "sum(up)"}
      ---
      kind: AnalysisTemplate
      apiVersion: argoproj.io/v1alpha1
      metadata: {name: multiple-job-fail, namespace: test}
      spec:
        metrics:
        - name: sleep-job
          initialDelay: 10000s
          count: 1
          successCondition: result[0] >= 1
          provider:
            prometheus: {address: "http://prometheus.linkerd-viz:9090", query: "sum(up)"}
        - name: sleep-job-rep
          count: 2
          interval: 1s
          failureLimit: 1
          successCondition: result[0] < 0
          provider:
            prometheus: {address: "http://prometheus.linkerd-viz:9090", query: "sum(up)"}
      """

  Scenario: Background analysis runs while paused and ends Successful once promoted
    # test/e2e/analysis_test.go:56 TestCanaryBackgroundAnalysis, rollout-background-analysis.yaml
    Given I apply:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: rollout-background-analysis, namespace: test}
      spec:
        strategy:
          canary:
            analysis:
              templates:
              - templateName: web-background
            steps:
            - setWeight: 10
            - pause: {}
        selector:
          matchLabels: {app: rollout-background-analysis}
        template:
          metadata:
            labels: {app: rollout-background-analysis}
          spec:
            containers:
            - name: rollouts-demo
              image: quay.io/stefanprodan/podinfo:1.7.0
      """
    And the rollout "rollout-background-analysis" in namespace "test" is "Healthy"
    Then the rollout "rollout-background-analysis" in namespace "test" has 0 AnalysisRuns
    When I update the spec of rollout "rollout-background-analysis" in namespace "test"
    Then the rollout "rollout-background-analysis" in namespace "test" is "Paused"
    And the rollout "rollout-background-analysis" in namespace "test" has 1 AnalysisRuns
    And the background AnalysisRun of rollout "rollout-background-analysis" in namespace "test" is "Running"
    When I promote the rollout "rollout-background-analysis" in namespace "test"
    Then the rollout "rollout-background-analysis" in namespace "test" is "Healthy"
    And the background AnalysisRun of rollout "rollout-background-analysis" in namespace "test" is "Successful"

  Scenario: Inline analysis steps each run once and the rollout completes
    # test/e2e/analysis_test.go:98 TestCanaryInlineAnalysis, rollout-inline-analysis.yaml
    Given I apply:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: rollout-inline-analysis, namespace: test}
      spec:
        strategy:
          canary:
            steps:
            - setWeight: 10
            - analysis:
                templates:
                - templateName: sleep-job
            - pause: {}
            - analysis:
                templates:
                - templateName: sleep-job
            - analysis:
                templates:
                - templateName: sleep-job
        selector:
          matchLabels: {app: rollout-inline-analysis}
        template:
          metadata:
            labels: {app: rollout-inline-analysis}
          spec:
            containers:
            - name: rollouts-demo
              image: quay.io/stefanprodan/podinfo:1.7.0
      """
    And the rollout "rollout-inline-analysis" in namespace "test" is "Healthy"
    Then the rollout "rollout-inline-analysis" in namespace "test" has 0 AnalysisRuns
    When I update the spec of rollout "rollout-inline-analysis" in namespace "test"
    Then the rollout "rollout-inline-analysis" in namespace "test" is "Paused"
    And the rollout "rollout-inline-analysis" in namespace "test" has 1 AnalysisRuns
    And the inline AnalysisRun of rollout "rollout-inline-analysis" in namespace "test" is "Successful"
    When I promote the rollout "rollout-inline-analysis" in namespace "test"
    Then the rollout "rollout-inline-analysis" in namespace "test" is "Healthy"
    And the rollout "rollout-inline-analysis" in namespace "test" has 3 AnalysisRuns

  Scenario: A failing inline analysis with several metrics degrades the rollout
    # test/e2e/analysis_test.go:142 TestCanaryFailInlineMultipleAnalysis,
    # rollout-degraded-inline-multiple-analysis.yaml
    Given I apply:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: rollout-inline-analysis, namespace: test}
      spec:
        strategy:
          canary:
            steps:
            - setWeight: 10
            - pause: {}
            - analysis:
                templates:
                - templateName: multiple-job-fail
        selector:
          matchLabels: {app: rollout-inline-analysis}
        template:
          metadata:
            labels: {app: rollout-inline-analysis}
          spec:
            containers:
            - name: rollouts-demo
              image: quay.io/stefanprodan/podinfo:1.7.0
      """
    And the rollout "rollout-inline-analysis" in namespace "test" is "Healthy"
    When I update the spec of rollout "rollout-inline-analysis" in namespace "test"
    Then the rollout "rollout-inline-analysis" in namespace "test" is "Paused"
    When I promote the rollout "rollout-inline-analysis" in namespace "test"
    Then the rollout "rollout-inline-analysis" in namespace "test" is "Progressing"
    And the inline AnalysisRun of rollout "rollout-inline-analysis" in namespace "test" is "Failed"
    And the rollout "rollout-inline-analysis" in namespace "test" is "Degraded"
