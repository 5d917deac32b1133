@flagger
Feature: Builtin metrics request-success-rate and request-duration, no MetricTemplate
  Flagger's e2e Canaries (e.g. test/istio/test-canary.sh:66) use the builtin
  `request-success-rate`; Flagger answers it with the query set of its metrics provider
  (pkg/controller/scheduler_metrics.go runBuiltinMetricChecks). With Flagger's Linkerd install
  (-mesh-provider=gatewayapi:v1beta1, kustomize/linkerd/patch.yaml) that is the app's own
  http_request_duration_seconds (pkg/metrics/observers/http.go), which linkerd-viz's Prometheus
  does not scrape: no values. With -mesh-provider=linkerd and the Canary's
  spec.provider: gatewayapi:v1beta1, Flagger keeps the HTTPRoute router and reads Linkerd's
  proxy metrics (pkg/metrics/observers/linkerd.go) from -metrics-server.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out

  Scenario: With Flagger's Linkerd install the builtins find no values and the canary fails
    Given I apply:
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
        service:
          port: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: 10s
          threshold: 2
          stepWeight: 10
          maxWeight: 50
          metrics:
          - name: request-success-rate
            thresholdRange:
              min: 99
            interval: 1m
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      all the metrics providers are available!
      Halt advancement no values found for gatewayapi:v1beta1 metric request-success-rate probably podinfo.test is not receiving traffic: no values found
      Rolling back podinfo.test failed checks threshold reached 2
      """
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"

  Scenario: With -mesh-provider=linkerd the builtins promote a healthy revision
    Given the engine runs with the flags "-mesh-provider=linkerd -metrics-server=http://prometheus.linkerd-viz:9090"
    And I apply:
      """
      apiVersion: flagger.app/v1beta1
      kind: Canary
      metadata:
        name: podinfo
        namespace: test
      spec:
        provider: gatewayapi:v1beta1
        targetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: podinfo
        service:
          port: 9898
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
          - name: request-success-rate
            thresholdRange:
              min: 99
            interval: 1m
          - name: request-duration
            thresholdRange:
              max: 500
            interval: 1m
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"

  Scenario: With -mesh-provider=linkerd the builtins roll back podinfo's --random-error
    Given the engine runs with the flags "-mesh-provider=linkerd -metrics-server=http://prometheus.linkerd-viz:9090"
    And I apply:
      """
      apiVersion: flagger.app/v1beta1
      kind: Canary
      metadata:
        name: podinfo
        namespace: test
      spec:
        provider: gatewayapi:v1beta1
        targetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: podinfo
        service:
          port: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        # 30s, not 10s: a pod starts in real time (20 spec seconds at 0.05), so 10s checks
        # would judge the new pods on a few requests each; see docs/time-scale.md
        analysis:
          interval: 30s
          threshold: 5
          stepWeight: 10
          maxWeight: 50
          metrics:
          - name: request-success-rate
            thresholdRange:
              min: 99
            interval: 1m
          - name: request-duration
            thresholdRange:
              max: 500
            interval: 1m
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I start a new revision of deployment "podinfo" in namespace "test" with image "quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-error" flag
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      Starting canary analysis for podinfo.test
      Rolling back podinfo.test failed checks threshold reached 5
      Canary failed! Scaling down podinfo.test
      """
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
