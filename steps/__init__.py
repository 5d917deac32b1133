"""The Gherkin step library, installed as ``canary.steps`` (from the repository's ``steps/``).

Each module binds one concern's sentences to one- or two-line calls into :mod:`canary.harness`;
the pytest plugin registers every module in :data:`MODULES`, so any feature file can use these
steps after ``pip install`` with no Python code. docs/harness.md lists them with examples.
"""

MODULES = (
    "canary.steps.cluster",
    "canary.steps.canaries",
    "canary.steps.rollouts",
    "canary.steps.cleanup",
    "canary.steps.latency",
    "canary.steps.policy",
    "canary.steps.argo_analysis",
    "canary.steps.flagger_upstream",
    "canary.steps.stat",
    "canary.steps.browser",
    "canary.steps.incluster",
    "canary.steps.argo_upstream",
)
