@flagger
Feature: A/B testing with a header match (Flagger's test/gatewayapi/test-ab.sh)
  Flagger's A/B e2e test, on Linkerd's shape: the HTTPRoute's parent is the podinfo Service
  (GAMMA) instead of an Istio gateway, and the analysis reads Linkerd's metrics through the seed's
  MetricTemplate instead of the Istio error-rate/latency templates. Requests carrying the header
  reach the canary for the whole test, every other request stays on the primary.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And I apply the manifest "success-rate-template.yaml"
    # fluxcd/flagger test/gatewayapi/test-ab.sh:20 (threshold, iterations and match verbatim)
    And I apply:
      """
      apiVersion: flagger.app/v1beta1
      kind: Canary
      metadata:
        name: podinfo
        namespace: test
      spec:
        progressDeadlineSeconds: 60
        targetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: podinfo
        service:
          port: 9898
          portName: http
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: 15s
          threshold: 10
          iterations: 10
          match:
          - headers:
              x-canary:
                exact: "insider"
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
      """
    # fluxcd/flagger test/gatewayapi/test-utils.sh check_primary: Initialized
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    # test-ab.sh:69 sends the header from its load test; here a meshed client does it
    And I send load with the header "x-canary: insider" to "http://podinfo.test:9898/" from a meshed load generator "insider" in namespace "test"
    And the deployment "insider" in namespace "test" is rolled out

  Scenario: Requests with the header reach the canary, the others the primary, then promotion
    # test-ab.sh:78
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    # scheduler.go runAB: the first iteration routes the matching requests to the canary
    Then the canary "podinfo" in namespace "test" has ".status.iterations" "2" within 120s
    And the load generator "insider" in namespace "test" gets every answer from version "1.7.1" for 15s
    And the load generator "load" in namespace "test" gets every answer from version "1.7.0" for 15s
    # test-ab.sh:85 (primary image) and :105 (Succeeded)
    And the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      New revision detected! Scaling up podinfo.test
      Starting canary analysis for podinfo.test
      Advance podinfo.test canary iteration 1/10
      Advance podinfo.test canary iteration 10/10
      Copying podinfo.test template spec to podinfo-primary.test
      Routing all traffic to primary
      Promotion completed! Scaling down podinfo.test
      """
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo" in namespace "test" has 0 replicas

  Scenario: A/B test of a revision with podinfo's --random-error is rolled back
    When I start a new revision of deployment "podinfo" in namespace "test" with image "quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-error" flag
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      Advance podinfo.test canary iteration 1/10
      Rolling back podinfo.test failed checks threshold reached 10
      Canary failed! Scaling down podinfo.test
      """
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
    And the deployment "podinfo" in namespace "test" has 0 replicas
