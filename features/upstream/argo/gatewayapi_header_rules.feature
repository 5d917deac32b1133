@argo
Feature: Header rules copy the source rule's matches and filters (rollouts-plugin-trafficrouter-gatewayapi test/e2e/chainsaw)
  Three of the plugin's header tests in one scenario (each Rollout updated and asserted on its
  own, in upstream's order), translated as in gatewayapi_header_routes.feature.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test"

  Scenario: Header rules merge the rule's own header, path and query matches and keep its filters
    # test/e2e/chainsaw/httproute-two-headers/resources/*.yaml
    Given I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-two-headers-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-two-headers}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-two-headers-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-two-headers}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-two-headers, namespace: test}
      spec:
        parentRefs:
          - {name: httproute-two-headers-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - matches:
              - headers:
                  - name: X-Security
                    type: Exact
                    value: secret123
            backendRefs:
              - {name: httproute-two-headers-stable-service, port: 80}
              - {name: httproute-two-headers-canary-service, port: 80}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-two-headers-rollout, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: httproute-two-headers-canary-service
            stableService: httproute-two-headers-stable-service
            trafficRouting:
              managedRoutes:
                - name: canary-route1
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoutes:
                    - name: httproute-two-headers
                      useHeaderRoutes: true
                  namespace: test
            steps:
              - setWeight: 50
              - setHeaderRoute:
                  name: canary-route1
                  match:
                    - headerName: X-QA
                      headerValue:
                        exact: "true"
              - pause: {duration: 30s}
        revisionHistoryLimit: 2
        selector:
          matchLabels: {app: httproute-two-headers}
        template:
          metadata:
            labels: {app: httproute-two-headers}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # test/e2e/chainsaw/httproute-multi-rule-header/resources/*.yaml
    And I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-multi-rule-header-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-multi-rule-header}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: httproute-multi-rule-header-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: httproute-multi-rule-header}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-multi-rule, namespace: test}
      spec:
        parentRefs:
          - {name: httproute-multi-rule-header-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - backendRefs:
              - {name: httproute-multi-rule-header-stable-service, port: 80}
              - {name: httproute-multi-rule-header-canary-service, port: 80}
            matches:
              - path: {type: PathPrefix, value: /v1/api}
                queryParams:
                  - {name: env, value: production}
          - backendRefs:
              - {name: httproute-multi-rule-header-stable-service, port: 80}
              - {name: httproute-multi-rule-header-canary-service, port: 80}
            matches:
              - path: {type: PathPrefix, value: /v1/api}
                headers:
                  - {name: x-ct-env, type: Exact, value: production}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: multi-rule-header-rollout, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: httproute-multi-rule-header-canary-service
            stableService: httproute-multi-rule-header-stable-service
            trafficRouting:
              managedRoutes:
                - name: canary-route1
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoutes:
                    - name: httproute-multi-rule
                      useHeaderRoutes: true
                  namespace: test
            steps:
              - setWeight: 30
              - setHeaderRoute:
                  name: canary-route1
                  match:
                    - headerName: X-Version
                      headerValue:
                        exact: v2
              - pause: {duration: 30s}
        revisionHistoryLimit: 2
        selector:
          matchLabels: {app: httproute-multi-rule-header}
        template:
          metadata:
            labels: {app: httproute-multi-rule-header}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # test/e2e/chainsaw/single-httproute-filters/resources/*.yaml
    And I apply:
      """
      apiVersion: v1
      kind: Service
      metadata: {name: single-httproute-filters-stable-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: single-httproute-filters}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: single-httproute-filters-canary-service, namespace: test}
      spec:
        ports: [{port: 80, targetPort: http, protocol: TCP, name: http}]
        selector: {app: single-httproute-filters}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: httproute-filters, namespace: test}
      spec:
        parentRefs:
          - {name: single-httproute-filters-stable-service, namespace: test, kind: Service, group: core, port: 80}
        rules:
          - matches:
              - path: {type: PathPrefix, value: /}
            filters:
              - type: RequestHeaderModifier
                requestHeaderModifier:
                  set:
                    - {name: X-Custom-Request-Header, value: custom-request-value}
                    - {name: X-Environment, value: test}
                  add:
                    - {name: X-Added-Header, value: added-value}
                  remove: [X-Remove-Me]
              - type: ResponseHeaderModifier
                responseHeaderModifier:
                  set:
                    - {name: X-Custom-Response-Header, value: custom-response-value}
                    - {name: X-Server, value: gateway-api-test}
                  add:
                    - {name: X-Response-Added, value: response-added-value}
                  remove: [Server]
              - type: RequestMirror
                requestMirror:
                  backendRef: {name: argo-rollouts-mirror-service, port: 80}
              - type: URLRewrite
                urlRewrite:
                  path: {type: ReplacePrefixMatch, replacePrefixMatch: /api/v2}
                  hostname: api.example.com
            backendRefs:
              - {name: single-httproute-filters-stable-service, port: 80}
              - {name: single-httproute-filters-canary-service, port: 80}
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata: {name: httproute-filters-rollout, namespace: test}
      spec:
        replicas: 2
        strategy:
          canary:
            canaryService: single-httproute-filters-canary-service
            stableService: single-httproute-filters-stable-service
            trafficRouting:
              managedRoutes:
                - name: filter-preservation-route
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoutes:
                    - name: httproute-filters
                      useHeaderRoutes: true
                  namespace: test
            steps:
              - setWeight: 30
              - setHeaderRoute:
                  name: filter-preservation-route
                  match:
                    - headerName: X-Filter-Test
                      headerValue:
                        exact: preserve-filters
              - pause: {duration: 30s}
        revisionHistoryLimit: 2
        selector:
          matchLabels: {app: single-httproute-filters}
        template:
          metadata:
            labels: {app: single-httproute-filters}
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    And the rollout "httproute-two-headers-rollout" in namespace "test" is "Healthy" after any phases
    And the rollout "multi-rule-header-rollout" in namespace "test" is "Healthy" after any phases
    And the rollout "httproute-filters-rollout" in namespace "test" is "Healthy"
    When I patch the rollout "httproute-two-headers-rollout" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # httproute-two-headers/assertions/httproute-with-header-route.yaml
    Then the httproute "httproute-two-headers" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 2
        rules:
          - matches:
              - headers:
                  - name: X-Security
                    type: Exact
                    value: secret123
            backendRefs:
              - name: httproute-two-headers-stable-service
                (weight): 50
              - name: httproute-two-headers-canary-service
                (weight): 50
          - name: canary-route1
            matches:
              - (length(headers)): 2
                headers:
                  - name: X-Security
                    type: Exact
                    value: secret123
                  - name: X-QA
                    type: Exact
                    value: "true"
            backendRefs:
              - name: httproute-two-headers-canary-service
      """
    When I patch the rollout "multi-rule-header-rollout" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # httproute-multi-rule-header/assertions/httproute-with-header-routes.yaml
    Then the httproute "httproute-multi-rule" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 4
        rules:
          - backendRefs:
              - name: httproute-multi-rule-header-stable-service
                (weight): 70
              - name: httproute-multi-rule-header-canary-service
                (weight): 30
            matches:
              - queryParams:
                  - name: env
                    value: production
          - backendRefs:
              - name: httproute-multi-rule-header-stable-service
                (weight): 70
              - name: httproute-multi-rule-header-canary-service
                (weight): 30
            matches:
              - headers:
                  - name: x-ct-env
                    value: production
          - name: canary-route1
            backendRefs:
              - name: httproute-multi-rule-header-canary-service
            matches:
              - queryParams:
                  - name: env
                    value: production
                headers:
                  - name: X-Version
                    type: Exact
                    value: v2
          - name: canary-route1-1
            backendRefs:
              - name: httproute-multi-rule-header-canary-service
            matches:
              - headers:
                  - name: x-ct-env
                    value: production
                  - name: X-Version
                    type: Exact
                    value: v2
      """
    When I patch the rollout "httproute-filters-rollout" in namespace "test" with:
      """
      spec:
        template:
          spec:
            containers:
              - name: rollouts-demo
                image: quay.io/stefanprodan/podinfo:1.7.1
                ports: [{name: http, containerPort: 9898, protocol: TCP}]
      """
    # single-httproute-filters/assertions/httproute-with-header-route.yaml
    Then the httproute "httproute-filters" in namespace "test" matches within 2m:
      """
      spec:
        (length(rules)): 2
        rules:
          - (length(filters)): 4
            backendRefs:
              - name: single-httproute-filters-stable-service
                (weight): 70
              - name: single-httproute-filters-canary-service
                (weight): 30
          - name: filter-preservation-route
            matches:
              - headers:
                  - name: X-Filter-Test
                    type: Exact
                    value: preserve-filters
            (length(filters)): 4
            backendRefs:
              - name: single-httproute-filters-canary-service
      """
    # each Rollout's update was started before the last one's (so "after any phases")
    And the rollout "httproute-two-headers-rollout" in namespace "test" is "Healthy" after any phases
    And the rollout "multi-rule-header-rollout" in namespace "test" is "Healthy" after any phases
    And the rollout "httproute-filters-rollout" in namespace "test" is "Healthy"
    # the three after-cleanup assertions
    And the httproute "httproute-two-headers" in namespace "test" matches within 60s:
      """
      spec:
        (length(rules)): 1
        rules:
          - matches:
              - headers:
                  - name: X-Security
                    type: Exact
                    value: secret123
            backendRefs:
              - name: httproute-two-headers-stable-service
              - name: httproute-two-headers-canary-service
                (weight): 0
      """
    And the httproute "httproute-multi-rule" in namespace "test" matches within 60s:
      """
      spec:
        (length(rules)): 2
        rules:
          - backendRefs:
              - name: httproute-multi-rule-header-stable-service
              - name: httproute-multi-rule-header-canary-service
                (weight): 0
          - backendRefs:
              - name: httproute-multi-rule-header-stable-service
              - name: httproute-multi-rule-header-canary-service
                (weight): 0
      """
    And the httproute "httproute-filters" in namespace "test" matches within 60s:
      """
      spec:
        (length(rules)): 1
        rules:
          - (length(filters)): 4
            backendRefs:
              - name: single-httproute-filters-stable-service
              - name: single-httproute-filters-canary-service
                (weight): 0
      """
