@argo
Feature: Argo Rollouts canary steps over the Gateway API
  The seed's second half: the podinfo demo released with an Argo Rollouts Rollout whose canary
  steps set the weights of an HTTPRoute through the Gateway API plugin. The seed's manifests are
  applied exactly as written; their Services expose port 8989 while the HTTPRoute sends to port
  9898, which the harness reports and the mesh answers with 500s, as the Gateway API says. The
  corrected variant (fixtures/manifests/argo-rollout-corrected.yaml: Services on 9898) then goes
  through every step, is promoted, aborted and retried with the kubectl plugin's verbs.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out

  Scenario: The seed's manifests verbatim: the route names a port its Services do not expose
    When I apply:
      """
      apiVersion: gateway.networking.k8s.io/v1beta1
      kind: HTTPRoute
      metadata:
        name: argo-rollouts-http-route
        namespace: test
      spec:
        parentRefs:
          - name: podinfo
            namespace: test
            kind: Service
            group: core
            port: 9898
        rules:
          - backendRefs:
              - name: podinfo-stable
                namespace: test
                port: 9898
              - name: podinfo-canary
                namespace: test
                port: 9898
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: podinfo-canary
        namespace: test
      spec:
        ports:
          - port: 8989
            targetPort: 8989
            protocol: TCP
            name: http
        selector:
          app: podinfo
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: podinfo-stable
        namespace: test
      spec:
        ports:
          - port: 8989
            targetPort: 8989
            protocol: TCP
            name: http
        selector:
          app: podinfo
      ---
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: rollouts-demo
        namespace: test
      spec:
        replicas: 1
        strategy:
          canary:
            canaryService: podinfo-canary # our created canary service
            stableService: podinfo-stable # our created stable service
            trafficRouting:
              plugins:
                argoproj-labs/gatewayAPI:
                  httpRoute: argo-rollouts-http-route # our created httproute
                  namespace: test
            steps:
              - setWeight: 30
              - pause: {}
              - setWeight: 40
              - pause: { duration: 10 }
              - setWeight: 60
              - pause: { duration: 10 }
              - setWeight: 80
              - pause: { duration: 10 }
        revisionHistoryLimit: 2
        selector:
          matchLabels:
            app: podinfo
        template:
          metadata:
            labels:
              app: podinfo
          spec:
            containers:
              - name: podinfod
                image: quay.io/stefanprodan/podinfo:1.7.0
                ports:
                  - containerPort: 9898
                    protocol: TCP
      """
    Then the rollout "rollouts-demo" in namespace "test" is "Healthy"
    And the harness reports that the HTTPRoute "argo-rollouts-http-route" in namespace "test" sends traffic to ports its Services do not expose
    And the rollout "rollouts-demo" in namespace "test" has the condition "TrafficRoutingWarning" saying "does not expose port 9898"
    # The seed's Rollout selects app: podinfo, as the demo's Deployment "podinfo" labels its pods
    # too. Argo (and the engine) only manage ReplicaSets the Rollout owns and pin both Services
    # to a revision, so the Deployment's pods are never selected by them.
    And the services "podinfo-stable, podinfo-canary" in namespace "test" select only pods of rollout "rollouts-demo"
    # The mesh follows the Gateway API: a backendRef to a port its Service does not expose gets
    # 500, and here both backends are broken, so the meshed load generator's requests to podinfo
    # all fail.
    And the load generator "load" in namespace "test" gets HTTP 500 for at least 99% of 50 requests

  Scenario: The corrected manifests: a new image moves through every step and is promoted
    Given I apply the manifest "../fixtures/manifests/argo-rollout-corrected.yaml"
    And the rollout "rollouts-demo" in namespace "test" is "Healthy"
    # The seed's command, as written; the kubectl plugin verbs run `canary rollouts`.
    When I run with the kubectl plugin:
      """
      kubectl argo rollouts -n test set image rollouts-demo \
        podinfod=quay.io/stefanprodan/podinfo:1.7.1
      """
    Then the rollout "rollouts-demo" in namespace "test" is "Paused" at step 1 with canary weight 30
    And the HTTPRoute "argo-rollouts-http-route" in namespace "test" sends 70% to "podinfo-stable" and 30% to "podinfo-canary"
    When I run "kubectl argo rollouts -n test promote rollouts-demo" with the kubectl plugin
    Then the rollout "rollouts-demo" in namespace "test" becomes "Healthy"
    And the rollout "rollouts-demo" in namespace "test" moved the HTTPRoute "argo-rollouts-http-route" through the weights its steps declare
    And the rollout "rollouts-demo" in namespace "test" held each timed pause for its duration
    And the HTTPRoute "argo-rollouts-http-route" in namespace "test" sends 100% to "podinfo-stable" and 0% to "podinfo-canary"
    And the rollout "rollouts-demo" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1" as its stable revision
    And the services "podinfo-stable, podinfo-canary" in namespace "test" select only pods of rollout "rollouts-demo"
    And the frontend in namespace "test" answers with version "1.7.1"

  Scenario: Abort at weight 60 sends all traffic back to stable; retry starts again from step 0
    Given I apply the manifest "../fixtures/manifests/argo-rollout-corrected.yaml"
    And the rollout "rollouts-demo" in namespace "test" is "Healthy"
    When I run "kubectl argo rollouts -n test set image rollouts-demo podinfod=quay.io/stefanprodan/podinfo:1.7.1" with the kubectl plugin
    And the rollout "rollouts-demo" in namespace "test" is "Paused" at step 1 with canary weight 30
    And I promote the rollout "rollouts-demo" in namespace "test"
    # The 10s pause at 60 lasts 0.5 s at the sandbox's time scale: these verbs send the plugin's
    # patches in-process, without a CLI start-up, so the abort lands while the weight is 60.
    And the rollout "rollouts-demo" in namespace "test" is "Paused" at step 5 with canary weight 60
    And I abort the rollout "rollouts-demo" in namespace "test"
    Then the HTTPRoute "argo-rollouts-http-route" in namespace "test" moves "podinfo-canary" from 60% to 0% within one reconcile of the last action
    And the rollout "rollouts-demo" in namespace "test" is "Degraded" with canary weight 0
    And the rollout "rollouts-demo" in namespace "test" says "RolloutAborted: Rollout aborted update to revision 2"
    And the rollout "rollouts-demo" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0" as its stable revision
    And the frontend in namespace "test" answers with version "1.7.0"
    When I retry the rollout "rollouts-demo" in namespace "test"
    Then the rollout "rollouts-demo" in namespace "test" is "Paused" at step 1 with canary weight 30
