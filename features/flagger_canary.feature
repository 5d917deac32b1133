@flagger
Feature: Flagger canary release of podinfo with Linkerd
  The seed tutorial, step by step: the podinfo demo gets a Canary and a MetricTemplate exactly as
  the tutorial writes them; a new image then moves through every weight step the Canary declares
  and is promoted, while users behind the frontend move from 1.7.0 to 1.7.1 (the Browser
  section: headless Chromium shows 1.7.0 in blue at the start and 1.7.1 in green at the end).

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
          # service port number
          port: 9898
          # container port number or name (optional)
          targetPort: 9898
          # Reference to the Service that the generated HTTPRoute would attach to.
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
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
      ---
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
          sum(
            rate(
              response_total{
                namespace="{{ namespace }}",
                deployment=~"{{ target }}",
                classification!="failure",
                direction="inbound"
              }[{{ interval }}]
            )
          )
          /
          sum(
            rate(
              response_total{
                namespace="{{ namespace }}",
                deployment=~"{{ target }}",
                direction="inbound"
              }[{{ interval }}]
            )
          )
          * 100
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"

  Scenario: Initialization creates the primary, the services and the route
    Then the event "Initialization done! podinfo.test" is recorded for canary "podinfo" in namespace "test"
    And the deployment "podinfo-primary" exists in namespace "test"
    And the services "podinfo, podinfo-primary, podinfo-canary" exist in namespace "test"
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo" in namespace "test" has 0 replicas
    And the frontend in namespace "test" answers with version "1.7.0"

  Scenario: A new image is promoted through every weight step
    When I open the frontend in namespace "test" in a headless browser as "start"
    And I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the clients' traffic to canary "podinfo" in namespace "test" followed each weight step
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      New revision detected! Scaling up podinfo.test
      Starting canary analysis for podinfo.test
      Advance podinfo.test canary weight 10
      Advance podinfo.test canary weight 50
      Copying podinfo.test template spec to podinfo-primary.test
      Routing all traffic to primary
      Promotion completed! Scaling down podinfo.test
      """
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    And the frontend in namespace "test" answers with version "1.7.1"
    And the load generator "load" in namespace "test" saw at most 1% failed requests during the rollout of canary "podinfo"
    And I open the frontend in namespace "test" in a headless browser as "end"
    And the browser showed "start" and "end" in different versions and header colours

  Scenario: Toggling the image back to 1.7.0 starts a new rollout
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    And the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.0"
    Then a new rollout of canary "podinfo" in namespace "test" starts
    And the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
    And the frontend in namespace "test" answers with version "1.7.0"
