@flagger
Feature: A bad release is rolled back before it hurts users
  The tutorial's Canary (threshold 5, interval 10s, success rate >= 99%) guards podinfo. A new
  revision that fails must be rolled back (within threshold x interval plus one tick of its first
  failed check when it fails every check), the primary must stay on 1.7.0, and the users behind
  the load generator must barely notice.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    And I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And the deployment "load" in namespace "test" is rolled out
    And I apply the manifest "podinfo-canary.yaml"
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    And Prometheus has Linkerd's metrics for deployment "podinfo-primary" in namespace "test"

  Scenario: The new revision runs podinfo with --random-error
    When I start a new revision of deployment "podinfo" in namespace "test" with image "quay.io/stefanprodan/podinfo:1.7.1" and podinfo's "--random-error" flag
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    # podinfo's errors come in bursts, so some checks pass in between; Flagger never resets the
    # failed-check count, and rolls back at the tick after it reaches the threshold.
    And the canary "podinfo" in namespace "test" was rolled back one tick after its failed checks reached the threshold
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      New revision detected! Scaling up podinfo.test
      Starting canary analysis for podinfo.test
      Rolling back podinfo.test failed checks threshold reached 5
      Canary failed! Scaling down podinfo.test
      """
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
    And the deployment "podinfo" in namespace "test" has 0 replicas
    And the frontend in namespace "test" answers with version "1.7.0"
    And the load generator "load" in namespace "test" saw at most 5% failed requests during the rollout of canary "podinfo"

  Scenario: Load sent to /status/500 of the canary
    When I run "kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"
    And I send load to "http://podinfo-canary.test:9898/status/500" from a meshed load generator "fault-load" in namespace "test"
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the canary "podinfo" in namespace "test" was rolled back within threshold x interval plus one tick
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
    And the deployment "podinfo-primary" in namespace "test" runs image "quay.io/stefanprodan/podinfo:1.7.0"
    And the frontend in namespace "test" answers with version "1.7.0"
    And the load generator "load" in namespace "test" saw at most 1% failed requests during the rollout of canary "podinfo"
