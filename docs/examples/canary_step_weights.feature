# An example of a feature written outside this repository: it uses only the steps and fixtures of
# the installed plugin (pip install pytest-canary), no Python code. Copy it anywhere and run `pytest`
# in that directory; see docs/harness.md ("Your own features").
@flagger
Feature: podinfo canary with stepWeights [5, 25, 50] and threshold 2

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    # Flagger's load tester: its pre-rollout webhook sends traffic to the canary before the
    # first metric check, so a threshold of 2 is not spent on "no values found" (no traffic yet).
    And I apply:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: flagger-loadtester
        namespace: test
      spec:
        selector:
          matchLabels:
            app: flagger-loadtester
        template:
          metadata:
            labels:
              app: flagger-loadtester
            annotations:
              linkerd.io/inject: enabled
          spec:
            containers:
            - name: loadtester
              image: ghcr.io/fluxcd/flagger-loadtester:0.38.0
              command: ["./loadtester", "-port=8080", "-timeout=1h"]
              ports:
              - containerPort: 8080
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: flagger-loadtester
        namespace: test
      spec:
        selector:
          app: flagger-loadtester
        ports:
        - name: http
          port: 80
          targetPort: 8080
      """
    And the deployment "flagger-loadtester" in namespace "test" is rolled out
    And I apply:
      """
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
          sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",
            classification!="failure",direction="inbound"}[{{ interval }}]))
          /
          sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",
            direction="inbound"}[{{ interval }}]))
          * 100
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
          interval: 30s
          threshold: 2
          stepWeights: [5, 25, 50]
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
          webhooks:
          - name: load-test
            type: pre-rollout
            url: http://flagger-loadtester.test/
            timeout: 5s
            metadata:
              type: cmd
              cmd: "hey -z 2m -q 10 -c 2 http://podinfo-canary.test:9898/"
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"

  Scenario: A healthy release walks 5, 25, 50 and is promoted
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the frontend in namespace "test" answers with version "1.7.1"
    And the load generator "load" in namespace "test" saw at most 1% failed requests during the rollout of canary "podinfo"

  Scenario: A failing release is rolled back after 2 failed checks
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    And I send load to "http://podinfo-canary.test:9898/status/500" from a meshed load generator "fault-load" in namespace "test"
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the canary "podinfo" in namespace "test" was rolled back within threshold x interval plus one tick
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
