# Two scenarios that only pass when they run at the same time on the same cluster, each in its
# own copy of the seed's namespace `test` (tests/harness/test_parallel_scenarios.py runs them
# with pytest -n 2).
Feature: Scenarios at once on one sandbox

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine

  Scenario: Scenario a sees the other's namespace beside its own
    When I run "kubectl create ns test && kubectl -n test create configmap seen-by-a"
    And I run "timeout 60 sh -c 'until [ $(kubectl get ns -o name | grep -c ^namespace/test-) -ge 2 ]; do sleep 0.2; done'"
    And I run "kubectl -n test get configmap seen-by-a"

  Scenario: Scenario b sees the other's namespace beside its own
    When I run "kubectl create ns test && kubectl -n test create configmap seen-by-b"
    And I run "timeout 60 sh -c 'until [ $(kubectl get ns -o name | grep -c ^namespace/test-) -ge 2 ]; do sleep 0.2; done'"
    And I run "kubectl -n test get configmap seen-by-b"
