@flagger
Feature: Cleanup leaves nothing behind
  The tutorial ends by deleting what it created. After that, nothing the test created may remain,
  and a run cancelled half-way (CI sends SIGTERM) must clean up just the same.

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine

  Scenario: Deleting the Canary, then the namespace, as the tutorial's cleanup does
    Given I run "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"
    And the deployment "podinfo" in namespace "test" is rolled out
    And I apply the manifest "podinfo-canary.yaml"
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    When I run "kubectl -n test delete canary podinfo"
    Then the objects the engine generated for canary "podinfo" in namespace "test" are gone
    And the deployment "podinfo" exists in namespace "test"
    When I run "kubectl delete ns test"
    Then the namespace "test" is gone
    And nothing the scenario created remains

  Scenario: A run interrupted with SIGTERM in the middle of a rollout still cleans up
    When a pytest run of "../tests/support/features/interrupted_rollout.feature" is interrupted with SIGTERM once canary "podinfo" in namespace "sigterm" is "Progressing"
    Then the namespace "sigterm" is gone
    And nothing the scenario created remains
