@flagger
Feature: linkerd viz stat during a canary release
  The seed watches `linkerd viz -n test stat deploy --from deploy/load` while a release moves
  traffic. On the sandbox the `linkerd` command the harness provides prints Linkerd's table from
  Prometheus with linkerd-viz's queries: mid-rollout the load generator's requests split between
  podinfo (the canary) and podinfo-primary as the HTTPRoute weights say. The Browser section:
  the frontend in headless Chromium shows 1.7.0 in blue before and 1.7.1 in green after.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And the deployment "frontend" in namespace "test" is rolled out
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
          # one long step at 30%, so a one-minute stat window sees a single weight
          interval: 3m
          threshold: 5
          stepWeight: 30
          maxWeight: 30
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
      """
    And I apply the manifest "success-rate-template.yaml"
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"

  Scenario: Mid-rollout, RPS per deployment follows the route weights
    When I open the frontend in namespace "test" in a headless browser as "start"
    And I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    And the HTTPRoute "podinfo" in namespace "test" has sent 30% to "podinfo-canary" for 75 seconds
    And I run "linkerd viz -n test stat deploy --from deploy/load"
    Then the output has rows for "podinfo, podinfo-primary" whose RPS shares follow the HTTPRoute "podinfo" in namespace "test"
    When I run "linkerd viz -n test stat po --from deploy/load"
    Then the output has a "Running" row for every pod of "podinfo, podinfo-primary" in namespace "test"
    And the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And I open the frontend in namespace "test" in a headless browser as "end"
    And the browser showed "start" and "end" in different versions and header colours
