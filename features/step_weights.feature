@flagger
Feature: Weight steps and rollback timing follow the Canary's analysis settings
  Each example changes stepWeight / maxWeight / stepWeights / threshold. The weights the canary
  must receive are derived from the applied spec by the step library, with Flagger's rules
  (the last stepWeight may overshoot maxWeight; stepWeights make maxWeight their last value), so
  they are never typed by hand here.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And I apply the manifest "success-rate-template.yaml"

  Scenario Outline: stepWeight <stepWeight> up to maxWeight <maxWeight>
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
          targetPort: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: <interval>
          threshold: <threshold>
          stepWeight: <stepWeight>
          maxWeight: <maxWeight>
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
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"

    Examples:
      | stepWeight | maxWeight | interval | threshold |
      | 10         | 50        | 10s      | 5         |
      | 20         | 50        | 10s      | 5         |
      | 30         | 100       | 30s      | 2         |

  Scenario Outline: stepWeights <stepWeights>
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
          targetPort: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: <interval>
          threshold: <threshold>
          stepWeights: <stepWeights>
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
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"

    Examples:
      | stepWeights    | interval | threshold |
      | [5, 25, 50]    | 30s      | 2         |
      | [20, 40, 80]   | 10s      | 5         |

  Scenario Outline: A failing canary is rolled back after <threshold> failed checks
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
          targetPort: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: <interval>
          threshold: <threshold>
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
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    And I send load to "http://podinfo-canary.test:9898/status/500" from a meshed load generator "fault-load" in namespace "test"
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the canary "podinfo" in namespace "test" was rolled back within threshold x interval plus one tick
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"

    Examples:
      | interval | threshold |
      | 10s      | 1         |
      | 10s      | 3         |
