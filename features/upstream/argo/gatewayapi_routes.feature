@argo
Feature: HTTPRoute weights and rule shapes through the Gateway API plugin (rollouts-plugin-trafficrouter-gatewayapi test/e2e/chainsaw)
  More of the plugin's chainsaw tests, translated as in gatewayapi_header_routes.feature (namespace
  `test`, a Service parent instead of the Traefik Gateway, podinfo 1.7.0/1.7.1 instead of
  rollouts-demo red/green). Several upstream tests share one scenario to keep the sandbox's
  start-up cost down; each Rollout is updated and asserted on its own, in upstream's order.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test"

  Scenario: Unmanaged backends are kept and the in-progress label lives while the canary has weight
    # test/e2e/chainsaw/httproute-extra-backends/resources/*.yaml (the plugin's issue #203)
    Given I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-extra-backends-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-extra-backends}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-extra-backends-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-extra-backends}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-extra-backends-extra-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-extra-backends-extra}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-extra-backends, namespace: test}
      spec:
        parentRefs:
          - {name: httproute-extra-backends-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - backendRefs:
              - {name: httproute-extra-backends-stable-service, port: 80}
              - {name: httproute-extra-backends-canary-service, port: 80}
              - {name: httproute-extra-backends-extra-service, port: 80}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-extra-backends-rollout, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: httproute-extra-backends-canary-service
            stableService: httproute-extra-backends-stable-service
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoute: httproute-extra-backends
                  namespace: test
            steps:
              - setWeight: 30
              - pause: {duration: 30s}
        revisionHistoryLimit: 1
        selector:
          matchLabels: {app: httproute-extra-backends}
        template:
          metadata:
            labels: {app: httproute-extra-backends}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # test/e2e/chainsaw/httproute-multiple-extra-backends/resources/*.yaml
    And I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-multiple-extra-backends-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-multiple-extra-backends}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-multiple-extra-backends-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-multiple-extra-backends}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-multiple-extra-backends-extra-service-1, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-multiple-extra-backends-extra-1}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-multiple-extra-backends-extra-service-2, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-multiple-extra-backends-extra-2}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-multiple-extra-backends, namespace: test}
      spec:
        parentRefs:
          - {name: httproute-multiple-extra-backends-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - backendRefs:
              - {name: httproute-multiple-extra-backends-stable-service, port: 80, weight: 100}
              - {name: httproute-multiple-extra-backends-canary-service, port: 80, weight: 0}
              - {name: httproute-multiple-extra-backends-extra-service-1, port: 80, weight: 1}
              - {name: httproute-multiple-extra-backends-extra-service-2, port: 80, weight: 0}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-multiple-extra-backends, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: httproute-multiple-extra-backends-canary-service
            stableService: httproute-multiple-extra-backends-stable-service
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  namespace: test
                  httpRoutes:
                    - name: httproute-multiple-extra-backends
            steps:
              - setWeight: 20
              - pause: {duration: 30s}
              - setWeight: 50
              - pause: {duration: 30s}
        revisionHistoryLimit: 1
        selector:
          matchLabels: {app: httproute-multiple-extra-backends}
        template:
          metadata:
            labels: {app: httproute-multiple-extra-backends}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # test/e2e/chainsaw/httproute-label/resources/*.yaml
    And I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-label-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-label}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-label-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-label}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-label-basic, namespace: test}
      spec:
        parentRefs:
          - {name: httproute-label-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - backendRefs:
              - {name: httproute-label-stable-service, port: 80}
              - {name: httproute-label-canary-service, port: 80}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-label, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: httproute-label-canary-service
            stableService: httproute-label-stable-service
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoute: httproute-label-basic
                  namespace: test
            steps:
              - setWeight: 30
              - pause: {duration: 30s}
        revisionHistoryLimit: 1
        selector:
          matchLabels: {app: httproute-label}
        template:
          metadata:
            labels: {app: httproute-label}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # httproute-extra-backends/assertions/httproute-initial.yaml
    And the httproute "httproute-extra-backends" in namespace "test" matches within 30s:
      """
      spec:
        (length(rules)): 1
        rules:
          - (length(backendRefs)): 3
            backendRefs:
              - name: httproute-extra-backends-stable-service
              - name: httproute-extra-backends-canary-service
                (weight): 0
              - name: httproute-extra-backends-extra-service
      """
    # httproute-label/assertions/httproute-no-label.yaml: the label is absent
    And the httproute "httproute-label-basic" in namespace "test" has "metadata.labels.rollouts\.argoproj\.io/gatewayapi-canary" "" within 30s
    And the rollout "httproute-extra-backends-rollout" in namespace "test" is "Healthy" after any phases
    And the rollout "httproute-multiple-extra-backends" in namespace "test" is "Healthy" after any phases
    And the rollout "httproute-label" in namespace "test" is "Healthy"
    When I patch the rollout "httproute-extra-backends-rollout" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # httproute-extra-backends/assertions/httproute-canary.yaml
    Then the httproute "httproute-extra-backends" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 1
        rules:
          - (length(backendRefs)): 3
            backendRefs:
              - name: httproute-extra-backends-stable-service
                (weight): 70
              - name: httproute-extra-backends-canary-service
                (weight): 30
              - name: httproute-extra-backends-extra-service
      """
    When I patch the rollout "httproute-multiple-extra-backends" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # httproute-multiple-extra-backends/assertions/httproute-canary-20.yaml, httproute-canary-50.yaml
    # (at 20 the extra backends are also asserted to keep the weights they were written with)
    Then the httproute "httproute-multiple-extra-backends" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 1
        rules:
          - (length(backendRefs)): 4
            backendRefs:
              - name: httproute-multiple-extra-backends-stable-service
                (weight): 80
              - name: httproute-multiple-extra-backends-canary-service
                (weight): 20
              - name: httproute-multiple-extra-backends-extra-service-1
                (weight): 1
              - name: httproute-multiple-extra-backends-extra-service-2
                (weight): 0
      """
    And the httproute "httproute-multiple-extra-backends" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 1
        rules:
          - (length(backendRefs)): 4
            backendRefs:
              - name: httproute-multiple-extra-backends-stable-service
                (weight): 50
              - name: httproute-multiple-extra-backends-canary-service
                (weight): 50
              - name: httproute-multiple-extra-backends-extra-service-1
              - name: httproute-multiple-extra-backends-extra-service-2
      """
    When I patch the rollout "httproute-label" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # httproute-label/assertions/httproute-with-label.yaml
    Then the httproute "httproute-label-basic" in namespace "test" matches within 2m:
      """
      metadata:
        labels:
          rollouts.argoproj.io/gatewayapi-canary: in-progress
      """
    # each Rollout's update was started before the last one's (so "after any phases")
    And the rollout "httproute-extra-backends-rollout" in namespace "test" is "Healthy" after any phases
    And the rollout "httproute-multiple-extra-backends" in namespace "test" is "Healthy" after any phases
    And the rollout "httproute-label" in namespace "test" is "Healthy"
    # the after-cleanup assertions of the three tests
    And the httproute "httproute-extra-backends" in namespace "test" matches within 60s:
      """
      spec:
        rules:
          - (length(backendRefs)): 3
            backendRefs:
              - name: httproute-extra-backends-stable-service
              - name: httproute-extra-backends-canary-service
                (weight): 0
              - name: httproute-extra-backends-extra-service
      """
    And the httproute "httproute-multiple-extra-backends" in namespace "test" matches within 60s:
      """
      spec:
        (length(rules)): 1
        rules:
          - (length(backendRefs)): 4
            backendRefs:
              - name: httproute-multiple-extra-backends-stable-service
              - name: httproute-multiple-extra-backends-canary-service
                (weight): 0
              - name: httproute-multiple-extra-backends-extra-service-1
              - name: httproute-multiple-extra-backends-extra-service-2
      """
    And the httproute "httproute-label-basic" in namespace "test" has "metadata.labels.rollouts\.argoproj\.io/gatewayapi-canary" "" within 60s
    # the harness's own trajectory check finds the canary backend from canaryService
    And the rollout "httproute-multiple-extra-backends" in namespace "test" moved the HTTPRoute "httproute-multiple-extra-backends" through the weights its steps declare
