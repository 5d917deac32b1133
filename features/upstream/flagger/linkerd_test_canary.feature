# @serial: it creates, and its cleanup deletes, the shared namespace `linkerd` (pytest -n)
@flagger @serial
Feature: Flagger's Linkerd e2e test, test/linkerd/test-canary.sh, with its Canaries verbatim
  The workload is Flagger's test/workloads (podinfo 6.0.0 with its http, http-metrics and grpc
  ports, the secret it reads), the loadtester is Flagger's kustomize/tester, the MetricTemplates
  live in the linkerd namespace as the script applies them. The Canary discovers the container
  ports (portDiscovery), targets the port by name (targetPort: http) and gates the rollout on an
  HTTP and a gRPC acceptance test run by the loadtester (grpc_health_probe against podinfo's
  gRPC health service on the discovered grpc port).

  Background:
    Given a cluster with Linkerd, Linkerd-Viz and the canary engine
    # fluxcd/flagger test/workloads/init.sh: the test namespace, meshed
    And I run "kubectl create ns test && kubectl annotate ns test linkerd.io/inject=enabled"
    And I run "kubectl get ns linkerd || kubectl create ns linkerd"
    # kustomize/tester, its exec probes (wget localhost) left out: the sandbox runs exec
    # probes outside the pod (pod-local localhost is another issue)
    And I apply:
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: flagger-loadtester
        namespace: test
        labels:
          app: flagger-loadtester
      spec:
        selector:
          matchLabels:
            app: flagger-loadtester
        template:
          metadata:
            labels:
              app: flagger-loadtester
          spec:
            containers:
              - name: loadtester
                image: ghcr.io/fluxcd/flagger-loadtester:0.38.0
                ports:
                  - name: http
                    containerPort: 8080
                command:
                  - ./loadtester
                  - -port=8080
                  - -log-level=info
                  - -timeout=1h
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: flagger-loadtester
        namespace: test
        labels:
          app: flagger-loadtester
      spec:
        type: ClusterIP
        selector:
          app: flagger-loadtester
        ports:
          - name: http
            port: 80
            protocol: TCP
            targetPort: http
      """
    # test/workloads/secret.yaml and deployment.yaml, verbatim
    And I apply:
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: podinfo-secret
        namespace: test
      stringData:
        value: s3cr3t
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: podinfo
        namespace: test
        labels:
          app.kubernetes.io/name: podinfo
          app.kubernetes.io/managed-by: test-label-prefix
        annotations:
          app.kubernetes.io/instance: test-annotation-prefix
      spec:
        minReadySeconds: 5
        revisionHistoryLimit: 5
        progressDeadlineSeconds: 60
        strategy:
          rollingUpdate:
            maxUnavailable: 0
          type: RollingUpdate
        selector:
          matchLabels:
            app: podinfo
        template:
          metadata:
            annotations:
              prometheus.io/scrape: "true"
              prometheus.io/port: "9797"
            labels:
              app: podinfo
          spec:
            containers:
            - name: podinfod
              image: ghcr.io/stefanprodan/podinfo:6.0.0
              imagePullPolicy: IfNotPresent
              env:
                - name: PODINFO_SECRET_VALUE
                  valueFrom:
                    secretKeyRef:
                      name: podinfo-secret
                      key: value
              ports:
                - name: http
                  containerPort: 9898
                  protocol: TCP
                - name: http-metrics
                  containerPort: 9797
                  protocol: TCP
                - name: grpc
                  containerPort: 9999
                  protocol: TCP
              command:
                - ./podinfo
                - --port=9898
                - --port-metrics=9797
                - --grpc-port=9999
                - --grpc-service-name=podinfo
                - --level=info
                - --random-delay=false
                - --random-error=false
              livenessProbe:
                httpGet:
                  port: 9898
                  path: /healthz
                initialDelaySeconds: 5
                timeoutSeconds: 5
              readinessProbe:
                httpGet:
                  port: 9898
                  path: /readyz
                initialDelaySeconds: 5
                timeoutSeconds: 5
              resources:
                limits:
                  cpu: 1000m
                  memory: 128Mi
                requests:
                  cpu: 1m
                  memory: 16Mi
      """
    And the deployment "flagger-loadtester" in namespace "test" is rolled out
    And the deployment "podinfo" in namespace "test" is rolled out
    # test-canary.sh:9 and :43, verbatim
    And I apply:
      """
      apiVersion: flagger.app/v1beta1
      kind: MetricTemplate
      metadata:
        name: success-rate
        namespace: linkerd
      spec:
        provider:
          type: prometheus
          address: http://prometheus.linkerd-viz:9090
        query: |
          sum(
            rate(
              response_total{
                namespace="{{ namespace }}",
                deployment=~"{{ target }}",
                classification!="failure",
                direction="{{ variables.direction }}"
              }[{{ interval }}]
            )
          )
          /
          sum(
            rate(
              response_total{
                namespace="{{ namespace }}",
                deployment=~"{{ target }}",
                direction="{{ variables.direction }}"
              }[{{ interval }}]
            )
          )
          * 100
      ---
      apiVersion: flagger.app/v1beta1
      kind: MetricTemplate
      metadata:
        name: latency
        namespace: linkerd
      spec:
        provider:
          type: prometheus
          address: http://prometheus.linkerd-viz:9090
        query: |
          histogram_quantile(
              0.99,
              sum(
                  rate(
                      response_latency_ms_bucket{
                          namespace="{{ namespace }}",
                          deployment=~"{{ target }}",
                          direction="{{ variables.direction }}"
                          }[{{ interval }}]
                      )
                  ) by (le)
              )
      """

  Scenario: The Canary of test-canary.sh is initialized and promoted
    # test-canary.sh:68, verbatim
    Given I apply:
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
        progressDeadlineSeconds: 60
        service:
          port: 80
          targetPort: http
          portDiscovery: true
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 80
        analysis:
          interval: 15s
          threshold: 15
          maxWeight: 50
          stepWeight: 10
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: linkerd
            thresholdRange:
              min: 99
            interval: 1m
            templateVariables:
              direction: inbound
          - name: latency
            templateRef:
              name: latency
              namespace: linkerd
            threshold: 300
            interval: 1m
            templateVariables:
              direction: inbound
          webhooks:
            - name: http-acceptance-test
              type: pre-rollout
              url: http://flagger-loadtester.test/
              timeout: 30s
              metadata:
                type: bash
                cmd: "curl -sd 'test' http://podinfo-canary/token | grep token"
            - name: grpc-acceptance-test
              type: pre-rollout
              url: http://flagger-loadtester.test/
              timeout: 5s
              metadata:
                type: bash
                cmd: "grpc_health_probe -connect-timeout=1s -addr=podinfo-canary:9999"
            - name: load-test
              url: http://flagger-loadtester.test/
              timeout: 5s
              metadata:
                type: cmd
                cmd: "hey -z 10m -q 10 -c 2 http://podinfo.test/"
                logCmdOutput: "true"
      """
    # test-canary.sh:170
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    # test-canary.sh:182
    Then the service "podinfo" in namespace "test" has "spec.selector.app" "podinfo-primary" within 10s
    # portDiscovery puts the other container ports on the generated Services (pkg/canary/util.go)
    And the service "podinfo-canary" in namespace "test" has "spec.ports.1.name" "http-metrics" within 10s
    And the service "podinfo-canary" in namespace "test" has "spec.ports.2.name" "grpc" within 10s
    And the service "podinfo-canary" in namespace "test" has "spec.ports.0.targetPort" "http" within 10s
    And the service "podinfo-primary" in namespace "test" has "metadata.annotations.kustomize\.toolkit\.fluxcd\.io/reconcile" "disabled" within 10s
    # test-canary.sh:196
    When I run "kubectl -n test set image deployment/podinfo podinfod=ghcr.io/stefanprodan/podinfo:6.0.1"
    # test-canary.sh:203 and :219
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the deployment "podinfo-primary" in namespace "test" runs image "ghcr.io/stefanprodan/podinfo:6.0.1"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      New revision detected! Scaling up podinfo.test
      Starting canary analysis for podinfo.test
      Pre-rollout check http-acceptance-test passed
      Pre-rollout check grpc-acceptance-test passed
      Advance podinfo.test canary weight 10
      Copying podinfo.test template spec to podinfo-primary.test
      Promotion completed! Scaling down podinfo.test
      """

  Scenario: test-steps.sh: the Canary with stepWeights walks them and is promoted
    # fluxcd/flagger test/linkerd/test-steps.sh:66, verbatim: stepWeights win over maxWeight
    # 50, so the weights are 10..60 (scheduler.go maxWeight() and nextStepWeight)
    Given I apply:
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
        progressDeadlineSeconds: 60
        service:
          port: 80
          targetPort: http
          portDiscovery: true
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 80
        analysis:
          interval: 15s
          threshold: 15
          maxWeight: 50
          stepWeights: [10, 20, 30, 40, 50, 60]
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: linkerd
            thresholdRange:
              min: 99
            interval: 1m
            templateVariables:
              direction: inbound
          - name: latency
            templateRef:
              name: latency
              namespace: linkerd
            threshold: 500
            interval: 30s
            templateVariables:
              direction: inbound
          webhooks:
            - name: load-test
              url: http://flagger-loadtester.test/
              timeout: 5s
              metadata:
                type: cmd
                cmd: "hey -z 10m -q 10 -c 2 http://podinfo.test/"
      """
    # test-steps.sh:120
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    # test-steps.sh:137
    When I run "kubectl -n test set image deployment/podinfo podinfod=ghcr.io/stefanprodan/podinfo:6.0.1"
    # test-steps.sh:140 and :155
    Then the canary "podinfo" in namespace "test" reaches phase "Succeeded"
    And the deployment "podinfo-primary" in namespace "test" runs image "ghcr.io/stefanprodan/podinfo:6.0.1"
    And the canary "podinfo" in namespace "test" moved through the weights its spec declares
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      Advance podinfo.test canary weight 10
      Advance podinfo.test canary weight 60
      Copying podinfo.test template spec to podinfo-primary.test
      """

  Scenario: With load sent to /status/500 the Canary is rolled back
    # test-canary.sh:231, verbatim
    Given I apply:
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
        progressDeadlineSeconds: 60
        service:
          port: 80
          targetPort: 9898
          gatewayRefs:
            - name: podinfo
              namespace: test
              group: core
              kind: Service
              port: 80
        analysis:
          interval: 15s
          threshold: 3
          maxWeight: 50
          stepWeight: 10
          metrics:
          - name: success-rate
            templateRef:
              name: success-rate
              namespace: linkerd
            thresholdRange:
              min: 99
            interval: 1m
            templateVariables:
              direction: inbound
          - name: latency
            templateRef:
              name: latency
              namespace: linkerd
            threshold: 500
            interval: 30s
            templateVariables:
              direction: inbound
          webhooks:
            - name: http-acceptance-test
              type: pre-rollout
              url: http://flagger-loadtester.test/
              timeout: 30s
              metadata:
                type: bash
                cmd: "curl -sd 'test' http://podinfo-canary/token | grep token"
            - name: load-test
              url: http://flagger-loadtester.test/
              timeout: 5s
              metadata:
                type: cmd
                cmd: "hey -z 10m -q 10 -c 2 http://podinfo.test/status/500"
      """
    And the canary "podinfo" in namespace "test" reaches phase "Initialized"
    # test-canary.sh:292
    When I run "kubectl -n test set image deployment/podinfo podinfod=ghcr.io/stefanprodan/podinfo:6.0.2"
    # test-canary.sh:299
    Then the canary "podinfo" in namespace "test" reaches phase "Failed"
    And the events of canary "podinfo" in namespace "test" include, in order:
      """
      Pre-rollout check http-acceptance-test passed
      Rolling back podinfo.test failed checks threshold reached 3
      Canary failed! Scaling down podinfo.test
      """
    And the deployment "podinfo-primary" in namespace "test" runs image "ghcr.io/stefanprodan/podinfo:6.0.0"
    And the HTTPRoute "podinfo" in namespace "test" sends 100% to "podinfo-primary" and 0% to "podinfo-canary"
