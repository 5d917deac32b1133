@argo
Feature: Argo Rollouts background analysis on the Linkerd success rate
  The seed's corrected Rollout (fixtures/manifests/argo-rollout-corrected.yaml) with background
  analysis: an AnalysisTemplate carrying the seed's success-rate query in Argo's form (the
  canary revision's pods picked by their rollouts-pod-template-hash, a ratio judged by
  `successCondition: result[0] >= 0.99`), measured with the Prometheus provider against the
  sandbox's real Prometheus. A good release completes with one Successful AnalysisRun; a
  release running podinfo's --random-error is aborted by the analysis.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    # the seed's success-rate query as an Argo AnalysisTemplate
    And I apply the manifest "../fixtures/manifests/argo-success-rate-template.yaml"
    # Linkerd meshes the Rollout's pods through the namespace annotation, as the Gateway API
    # plugin's Linkerd example does; their inbound proxies then report the success rate.
    And I run "kubectl annotate ns test linkerd.io/inject=enabled"
    And I apply the manifest "../fixtures/manifests/argo-rollout-corrected.yaml"
    And I run "kubectl -n test patch rollout rollouts-demo --type merge -p '{"spec":{"strategy":{"canary":{"analysis":{"startingStep":1,"templates":[{"templateName":"success-rate"}],"args":[{"name":"namespace","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},{"name":"canary-hash","valueFrom":{"podTemplateHashValue":"Latest"}}]}}}}}'"
    And the rollout "rollouts-demo" in namespace "test" is "Healthy"
    And Prometheus has Linkerd's metrics for deployment "rollouts-demo" in namespace "test"

  Scenario: A good release is promoted with one Successful AnalysisRun
    When I run "kubectl argo rollouts -n test set image rollouts-demo podinfod=quay.io/stefanprodan/podinfo:1.7.1" with the kubectl plugin
    Then the rollout "rollouts-demo" in namespace "test" is "Paused" at step 1 with canary weight 30
    And the background AnalysisRun of rollout "rollouts-demo" in namespace "test" has taken 2 "Successful" measurements
    When I promote the rollout "rollouts-demo" in namespace "test"
    Then the rollout "rollouts-demo" in namespace "test" becomes "Healthy"
    And the rollout "rollouts-demo" in namespace "test" ran one AnalysisRun per analysis for its revision, each "Successful"
    And the rollout "rollouts-demo" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.1" as its stable revision
    And the HTTPRoute "argo-rollouts-http-route" in namespace "test" sends 100% to "podinfo-stable" and 0% to "podinfo-canary"

  Scenario: A release answering with random errors is aborted by the analysis
    When I start a new revision of rollout "rollouts-demo" in namespace "test" with image "quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-error" flag
    Then the rollout "rollouts-demo" in namespace "test" is aborted by its background AnalysisRun on metric "success-rate"
    And the rollout "rollouts-demo" in namespace "test" is "Degraded" with canary weight 0
    And the HTTPRoute "argo-rollouts-http-route" in namespace "test" sends 100% to "podinfo-stable" and 0% to "podinfo-canary"
    And the rollout "rollouts-demo" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0" as its stable revision
