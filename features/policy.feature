Feature: The seed's Canary judged by simulation, before any cluster
  `canary simulate` runs rollouts of the tutorial's Canary (interval 10s, threshold 5,
  stepWeight 10, success rate >= 99% over 1m) through the engine's own decision code, with the
  seed's load (10 requests per second) and a model of Prometheus' rate(); seeded, so every run
  gives the same figures. No sandbox is started. Measured with 1000 rollouts (docs/simulate.md):
  a healthy release is promoted in 100%; a release failing 2% of its requests is rolled back in
  only about 97% (about 3 in 100 such releases are promoted), 5% or more are always rolled back,
  after about 10 failed requests seen by users. Halving stepWeight to 5 stops the 2% release in
  every run, at the price of a rollout twice as long.

  Scenario: A healthy release is promoted and a 5% one is stopped early
    Given the rollout policy in the manifest "podinfo-canary.yaml"
    Then a healthy release is promoted in at least 99% of 1000 simulated rollouts
    And a release failing 5% of requests is rolled back in at least 99% of 1000 simulated rollouts
    And users see on average at most 12 failed requests before a release failing 5% of requests is rolled back

  Scenario: The seed's Canary does not stop a 2% release in 99% of rollouts
    Given the rollout policy in the manifest "podinfo-canary.yaml"
    Then a release failing 2% of requests is rolled back in at least 95% of 1000 simulated rollouts
    And a release failing 2% of requests is rolled back in fewer than 99% of 1000 simulated rollouts

  Scenario: stepWeight 5 stops a 2% release in at least 99% of rollouts
    Given the rollout policy in the manifest "success-rate-template.yaml" and this Canary:
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
        service:
          port: 9898
          targetPort: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 9898
        analysis:
          interval: 10s
          threshold: 5
          stepWeight: 5
          maxWeight: 100
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: test
            thresholdRange:
              min: 99
            interval: 1m
      """
    Then a release failing 2% of requests is rolled back in at least 99% of 1000 simulated rollouts
    And a healthy release is promoted in at least 99% of 1000 simulated rollouts
