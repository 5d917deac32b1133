@flagger
Feature: Blue/green (Flagger's test/gatewayapi/test-bg.sh)
  Flagger's blue/green e2e test on Linkerd's shape: the HTTPRoute's parent is the podinfo Service
  instead of an Istio gateway, and the analysis reads Linkerd's success rate (the seed's
  MetricTemplate) instead of the Istio request-duration template. The canary is analysed while
  users stay on the primary, then takes all the traffic for one tick, then is promoted.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And I apply the manifest "success-rate-template.yaml"
    # Flagger's kustomize/tester, meshed; its exec probes (wget localhost) are left out: the
    # sandbox runs exec probes outside the pod (pod-local localhost is another issue)
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
              command: ["./loadtester", "-port=8080", "-log-level=info", "-timeout=1h"]
              ports:
              - name: http
                containerPort: 8080
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
          targetPort: http
      """
    And the deployment "flagger-loadtester" in namespace "test" is rolled out
    # fluxcd/flagger test/gatewayapi/test-bg.sh:19 (interval, threshold, iterations, webhooks)
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
        progressDeadlineSeconds: 60
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
          interval: 10s
          threshold: 5
          iterations: 5
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 30s
          webhooks:
            - name: smoke-test
              type: pre-rollout
              url: http://flagger-loadtester.test/
              timeout: 15s
              metadata:
                type: bash
                cmd: "curl -sd 'anon' http://podinfo-canary.test:9898/token | grep token"
            - name: load-test
              type: rollout
              url: http://flagger-loadtester.test/
              timeout: 5s
              metadata:
                cmd: "hey -z 2m -q 10 -c 2 http://podinfo-canary.test:9898"
                logCmdOutput: "true"
      """
    # test-utils.sh check_primary
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"

  Scenario: The canary is analysed without user traffic, then promoted
    # test-bg.sh:72
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    Then the canary "podinfo" in namespace "test" has ".status.iterations" "2" within 60s
    # blue/green keeps users on the primary while iterating (scheduler.go runBlueGreen)
    And the load generator "load" in namespace "test" gets every answer from version "1.7.0" for 10s
    # test-bg.sh:79 (primary image) and the Succeeded wait after it
    And the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      New revision detected! Scaling up podinfo.test
      Starting canary analysis for podinfo.test
      Pre-rollout check smoke-test passed
      Advance podinfo.test canary iteration 1/5
      Advance podinfo.test canary iteration 5/5
      Routing all traffic to canary
      Copying podinfo.test template spec to podinfo-primary.test
      Routing all traffic to primary
      Promotion completed! Scaling down podinfo.test
      """
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"

  Scenario: A blue/green revision with podinfo's --random-error is rolled back
    When I start a new revision of deployment "podinfo" in namespace "test" with image "quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-error" flag
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      Pre-rollout check smoke-test passed
      Rolling back podinfo.test failed checks threshold reached 5
      Canary failed! Scaling down podinfo.test
      """
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
    # users stay on the primary while the canary is analysed; when a lucky 30s window lets the
    # five iterations pass with fewer than 5 failed checks, Flagger routes all traffic to the
    # canary for a tick before the next checks roll it back, on a cluster too (scheduler.go
    # runBlueGreen): users saw 3 % failures in one such run, so the bound ends there
    And the load generator "load" in namespace "test" saw at most 1% failed requests during the rollout of canary "podinfo" until its event "Routing all traffic to canary"
