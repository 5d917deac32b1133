@argo
Feature: Canary scaling and abort behaviour (argoproj/argo-rollouts test/e2e/canary_test.go)
  Argo's canary e2e tests on the sandbox. Their nginx-ingress and ALB traffic routers become the
  Gateway API plugin with an HTTPRoute over the same canary and stable Services (the only router
  the engine implements; both tests only need a router to exist, they check pods). nginx:1.19-alpine
  becomes podinfo on port 9898 (the Services' `targetPort: http` names it). UpdateSpec changes a
  pod-template annotation, as upstream's fixture does.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test"

  Scenario: setCanaryScale sets the canary's pods apart from its traffic weight
    # test/e2e/canary_test.go:35 TestCanarySetCanaryScale, functional/nginx-template.yaml; the
    # timed pauses of steps 4 and 8 (10s, 5s) are 100s here: each is promoted past, as upstream
    # does, and at the time scale 10s would end before the pod counts are read.
    Given I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: set-canary-scale-canary, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: set-canary-scale}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: set-canary-scale-stable, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: set-canary-scale}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: set-canary-scale-route, namespace: test}
      spec:
        parentRefs: [{name: set-canary-scale-stable, kind: Service, group: core, port: 80}]
        rules:
          - backendRefs:
              - {name: set-canary-scale-stable, port: 80}
              - {name: set-canary-scale-canary, port: 80}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: set-canary-scale, namespace: test}
      spec:
        replicas: 4
        selector:
          matchLabels: {app: set-canary-scale}
        template:
          metadata:
            labels: {app: set-canary-scale}
          spec:
            containers:
            - name: set-canary-scale
              image: quay.io/stefanprodan/podinfo:1.7.0
              ports:
              - {name: http, containerPort: 9898, protocol: TCP}
        strategy:
          canary:
            canaryService: set-canary-scale-canary
            stableService: set-canary-scale-stable
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoute: set-canary-scale-route
            steps:
            - pause: {}
            - setCanaryScale:
                weight: 25
            - pause: {duration: 100s}
            - setWeight: 50
            - pause: {duration: 100s}
            - setCanaryScale:
                replicas: 3
            - pause: {}
            - setCanaryScale:
                matchTrafficWeight: true
            - pause: {duration: 100s}
      """
    And the rollout "set-canary-scale" in namespace "test" is "Healthy"
    When I update the spec of rollout "set-canary-scale" in namespace "test"
    Then the rollout "set-canary-scale" in namespace "test" is "Paused" at step 0
    And the rollout "set-canary-scale" in namespace "test" has 0 canary and 4 stable pods
    When I promote the rollout "set-canary-scale" in namespace "test"
    Then the rollout "set-canary-scale" in namespace "test" is "Paused" at step 2
    And the rollout "set-canary-scale" in namespace "test" has 1 canary and 4 stable pods
    When I promote the rollout "set-canary-scale" in namespace "test"
    Then the rollout "set-canary-scale" in namespace "test" is "Paused" at step 4
    And the rollout "set-canary-scale" in namespace "test" has 1 canary and 4 stable pods
    When I promote the rollout "set-canary-scale" in namespace "test"
    Then the rollout "set-canary-scale" in namespace "test" is "Paused" at step 6
    And the rollout "set-canary-scale" in namespace "test" has 3 canary and 4 stable pods
    When I promote the rollout "set-canary-scale" in namespace "test"
    Then the rollout "set-canary-scale" in namespace "test" is "Paused" at step 8
    And the rollout "set-canary-scale" in namespace "test" has 2 canary and 4 stable pods
    When I promote the rollout "set-canary-scale" in namespace "test"
    Then the rollout "set-canary-scale" in namespace "test" is "Healthy"
    And the rollout "set-canary-scale" in namespace "test" has 4 canary and 4 stable pods

  Scenario Outline: An abort moves the canary Service back to stable and scales the canary down after abortScaleDownDelaySeconds
    # test/e2e/canary_test.go:564 TestCanaryScaleDownOnAbort (functional/canary-scaledownonabort.yaml,
    # abortScaleDownDelaySeconds 1) and :616 TestCanaryUnScaleDownOnAbort
    # (functional/canary-unscaledownonabort.yaml, 0: never scaled down)
    Given I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: canary-scaledowndelay-canary, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: canary-scaledowndelay}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: canary-scaledowndelay-stable, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: canary-scaledowndelay}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: canary-scaledowndelay-route, namespace: test}
      spec:
        parentRefs: [{name: canary-scaledowndelay-stable, kind: Service, group: core, port: 80}]
        rules:
          - backendRefs:
              - {name: canary-scaledowndelay-stable, port: 80}
              - {name: canary-scaledowndelay-canary, port: 80}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: canary-scaledownd-on-abort, namespace: test}
      spec:
        selector:
          matchLabels: {app: canary-scaledowndelay}
        template:
          metadata:
            labels: {app: canary-scaledowndelay}
          spec:
            containers:
            - name: canary-scaledowndelay
              image: quay.io/stefanprodan/podinfo:1.7.0
              ports:
              - {name: http, containerPort: 9898, protocol: TCP}
        strategy:
          canary:
            abortScaleDownDelaySeconds: <delay>
            scaleDownDelayRevisionLimit: 1
            canaryService: canary-scaledowndelay-canary
            stableService: canary-scaledowndelay-stable
            steps:
              - setCanaryScale:
                  replicas: 1
              - pause: {}
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoute: canary-scaledowndelay-route
      """
    And the rollout "canary-scaledownd-on-abort" in namespace "test" is "Healthy"
    When I update the spec of rollout "canary-scaledownd-on-abort" in namespace "test"
    Then the rollout "canary-scaledownd-on-abort" in namespace "test" is "Paused"
    When I abort the rollout "canary-scaledownd-on-abort" in namespace "test"
    Then the rollout "canary-scaledownd-on-abort" in namespace "test" is "Degraded"
    And the service "canary-scaledowndelay-canary" in namespace "test" selects the stable pods of rollout "canary-scaledownd-on-abort"
    And the rollout "canary-scaledownd-on-abort" in namespace "test" has <pods> pods of revision 2 after 3s

    Examples:
      | delay | pods |
      | 1     | 0    |
      | 0     | 1    |

  Scenario: Scaling a paused canary keeps the canary's share
    # test/e2e/canary_test.go:94 TestRolloutScalingWhenPaused, functional/rollout-basic.yaml
    Given I apply:
      """
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: basic, namespace: test}
      spec:
        strategy:
          canary:
            steps:
            - setWeight: 25
            - pause: {}
        selector:
          matchLabels: {app: basic}
        template:
          metadata:
            labels: {app: basic}
          spec:
            containers:
            - name: basic
              image: quay.io/stefanprodan/podinfo:1.7.0
      """
    And the rollout "basic" in namespace "test" is "Healthy"
    When I update the spec of rollout "basic" in namespace "test"
    Then the rollout "basic" in namespace "test" is "Paused"
    And the rollout "basic" in namespace "test" has 1 canary and 1 stable pods
    When I scale the rollout "basic" in namespace "test" to 8 replicas
    Then the rollout "basic" in namespace "test" has status.availableReplicas 8
    And the rollout "basic" in namespace "test" has 2 canary and 6 stable pods
    When I scale the rollout "basic" in namespace "test" to 4 replicas
    Then the rollout "basic" in namespace "test" has status.availableReplicas 4
    And the rollout "basic" in namespace "test" has 1 canary and 3 stable pods
