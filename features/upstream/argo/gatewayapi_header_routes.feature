@argo
Feature: Header routes through the Gateway API plugin (rollouts-plugin-trafficrouter-gatewayapi test/e2e/chainsaw)
  The plugin's own chainsaw tests on the sandbox. Their assertion files are used as written (a
  subset match, `(length(rules))` and `(weight)` as chainsaw evaluates them). Translated: the
  `default` namespace becomes `test`, the Traefik Gateway parent becomes a Service parent (the
  mesh's GAMMA shape), argoproj/rollouts-demo red/green becomes podinfo 1.7.0/1.7.1 on port 9898.
  The sandbox's HTTPRoute CRD does not default `backendRefs[].weight` to 1 as the Gateway API
  CRD does, so `(weight): 1` on the injected rules is left out where upstream asserts it. The
  image patch repeats the container's ports: a merge patch of a custom resource replaces the
  container list, and the Services' `targetPort: http` needs the named port.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test"

  Scenario: One header route is injected, routes meshed requests with the header to the canary, and is removed at the end
    # rollouts-plugin-trafficrouter-gatewayapi test/e2e/chainsaw/single-header-based-httproute
    # resources/{services,httproute,rollout}.yaml; `pause: {duration: 30s}` became `pause: {}`
    # so the header traffic is measured while the route is in place (then promoted).
    Given I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: single-header-based-httproute-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: single-header-based-httproute}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: single-header-based-httproute-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: single-header-based-httproute}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: single-header-based-httproute, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: single-header-based-httproute}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-header, namespace: test}
      spec:
        parentRefs:
          - {name: single-header-based-httproute, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - backendRefs:
              - name: single-header-based-httproute-stable-service
                port: 80
              - name: single-header-based-httproute-canary-service
                port: 80
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-header-rollout, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: single-header-based-httproute-canary-service
            stableService: single-header-based-httproute-stable-service
            trafficRouting:
              managedRoutes:
                - name: canary-route1
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoutes:
                    - name: httproute-header
                      useHeaderRoutes: true
                  namespace: test
            steps:
              - setWeight: 30
              - setHeaderRoute:
                  name: canary-route1
                  match:
                    - headerName: X-Test
                      headerValue:
                        exact: test
              - pause: {}
        revisionHistoryLimit: 2
        selector:
          matchLabels: {app: single-header-based-httproute}
        template:
          metadata:
            labels: {app: single-header-based-httproute}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # assertions/httproute-initial.yaml
    And the httproute "httproute-header" in namespace "test" matches within 30s:
      """
      spec:
        (length(rules)): 1
        rules:
          - backendRefs:
              - name: single-header-based-httproute-stable-service
              - name: single-header-based-httproute-canary-service
                (weight): 0
      """
    And the rollout "httproute-header-rollout" in namespace "test" is "Healthy"
    And I send load with the header "X-Test: test" to "http://single-header-based-httproute.test:80/" from a meshed load generator "tester" in namespace "test"
    And the deployment "tester" in namespace "test" is rolled out
    When I patch the rollout "httproute-header-rollout" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # assertions/httproute-with-header-route.yaml
    Then the httproute "httproute-header" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 2
        rules:
          - backendRefs:
              - name: single-header-based-httproute-stable-service
                (weight): 70
              - name: single-header-based-httproute-canary-service
                (weight): 30
          - name: canary-route1
            matches:
              - headers:
                  - name: X-Test
                    type: Exact
                    value: test
            backendRefs:
              - name: single-header-based-httproute-canary-service
      """
    And the rollout "httproute-header-rollout" in namespace "test" is "Paused" at step 2 with canary weight 30
    # what the route promises, measured: every request with the header answered by the canary
    And the load generator "tester" in namespace "test" gets every answer from version "1.7.1" for 20s
    When I promote the rollout "httproute-header-rollout" in namespace "test"
    # assertions/rollout-healthy.yaml
    Then the rollout "httproute-header-rollout" in namespace "test" is "Healthy"
    # assertions/httproute-after-cleanup.yaml
    And the httproute "httproute-header" in namespace "test" matches within 60s:
      """
      spec:
        (length(rules)): 1
        rules:
          - backendRefs:
              - name: single-header-based-httproute-stable-service
              - name: single-header-based-httproute-canary-service
                (weight): 0
      """

  Scenario: Two header routes at 30 and 60 stay untouched by setWeight 90 and are removed at the end
    # rollouts-plugin-trafficrouter-gatewayapi test/e2e/chainsaw/advanced-header-based-httproute
    # (the plugin's issue #158); steps verbatim
    Given I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: advanced-header-based-httproute-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: advanced-header-based-httproute}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: advanced-header-based-httproute-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: advanced-header-based-httproute}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-header-advanced, namespace: test}
      spec:
        parentRefs:
          - {name: advanced-header-based-httproute-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - backendRefs:
              - name: advanced-header-based-httproute-stable-service
                port: 80
              - name: advanced-header-based-httproute-canary-service
                port: 80
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-header-advanced-rollout, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: advanced-header-based-httproute-canary-service
            stableService: advanced-header-based-httproute-stable-service
            trafficRouting:
              managedRoutes:
                - name: canary-route1
                - name: canary-route2
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoutes:
                    - name: httproute-header-advanced
                      useHeaderRoutes: true
                  namespace: test
            steps:
              - setWeight: 30
              - setHeaderRoute:
                  name: canary-route1
                  match:
                    - headerName: X-Test
                      headerValue:
                        exact: test
              - pause: {duration: 30s}
              - setWeight: 60
              - setHeaderRoute:
                  name: canary-route2
                  match:
                    - headerName: X-Version
                      headerValue:
                        exact: v2
              - pause: {duration: 30s}
              - setWeight: 90
              - pause: {duration: 30s}
        revisionHistoryLimit: 2
        selector:
          matchLabels: {app: advanced-header-based-httproute}
        template:
          metadata:
            labels: {app: advanced-header-based-httproute}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    And the rollout "httproute-header-advanced-rollout" in namespace "test" is "Healthy"
    When I patch the rollout "httproute-header-advanced-rollout" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # assertions/httproute-after-first-header.yaml
    Then the httproute "httproute-header-advanced" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 2
        rules:
          - backendRefs:
              - name: advanced-header-based-httproute-stable-service
                (weight): 70
              - name: advanced-header-based-httproute-canary-service
                (weight): 30
          - name: canary-route1
            matches:
              - headers:
                  - name: X-Test
                    type: Exact
                    value: test
            backendRefs:
              - name: advanced-header-based-httproute-canary-service
      """
    # assertions/httproute-after-second-header.yaml
    And the httproute "httproute-header-advanced" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 3
        rules:
          - backendRefs:
              - name: advanced-header-based-httproute-stable-service
                (weight): 40
              - name: advanced-header-based-httproute-canary-service
                (weight): 60
          - name: canary-route1
            matches:
              - headers:
                  - name: X-Test
                    type: Exact
                    value: test
            backendRefs:
              - name: advanced-header-based-httproute-canary-service
          - name: canary-route2
            matches:
              - headers:
                  - name: X-Version
                    type: Exact
                    value: v2
            backendRefs:
              - name: advanced-header-based-httproute-canary-service
      """
    # assertions/httproute-after-weight-90.yaml (without `(weight): 1`, see above)
    And the httproute "httproute-header-advanced" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 3
        rules:
          - backendRefs:
              - name: advanced-header-based-httproute-stable-service
                (weight): 10
              - name: advanced-header-based-httproute-canary-service
                (weight): 90
          - name: canary-route1
            matches:
              - headers:
                  - name: X-Test
                    type: Exact
                    value: test
            backendRefs:
              - name: advanced-header-based-httproute-canary-service
          - name: canary-route2
            matches:
              - headers:
                  - name: X-Version
                    type: Exact
                    value: v2
            backendRefs:
              - name: advanced-header-based-httproute-canary-service
      """
    And the rollout "httproute-header-advanced-rollout" in namespace "test" is "Healthy"
    # assertions/httproute-after-cleanup.yaml
    And the httproute "httproute-header-advanced" in namespace "test" matches within 60s:
      """
      spec:
        (length(rules)): 1
        rules:
          - backendRefs:
              - name: advanced-header-based-httproute-stable-service
              - name: advanced-header-based-httproute-canary-service
                (weight): 0
      """
    And the rollout "httproute-header-advanced-rollout" in namespace "test" moved the HTTPRoute "httproute-header-advanced" through the weights its steps declare
