# NOT BUILT OR RUN ON THIS PROJECT'S MACHINES (no Docker engine, no registry here).
# An image of the bundled engine with the controllers' entrypoints, so the packaged installs
# (fixtures/manifests/install/) can run it on kind in place of the real images:
#   docker build -f deploy/engine.Dockerfile -t canary-engine:dev .
#   kind load docker-image canary-engine:dev --name canary-harness
#   kubectl apply -f fixtures/manifests/crds/flagger.app_canaries.yaml \
#     -f fixtures/manifests/crds/flagger.app_metrictemplates.yaml \
#     -f fixtures/manifests/install/flagger-linkerd.yaml
#   kubectl -n flagger-system set image deploy/flagger flagger=canary-engine:dev
# The kind environment still runs the bundled engine as a process (not wired to this image).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /src
RUN pip install --no-cache-dir /src && rm -rf /src
# Flagger's entrypoint is ./flagger (its Dockerfile), Argo's /bin/rollouts-controller
RUN printf '#!/bin/sh\nexec python -m canary.sandbox.apps.flagger "$@"\n' > /app/flagger \
    && printf '#!/bin/sh\nexec python -m canary.sandbox.apps.rollouts_controller "$@"\n' \
       > /bin/rollouts-controller \
    && chmod +x /app/flagger /bin/rollouts-controller
USER 10001
ENTRYPOINT ["./flagger"]
