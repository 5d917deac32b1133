"""``canary simulate``: judge a rollout policy with Monte Carlo rollouts through the real engine.

The Flagger decision function (``canary.engine.flagger.tick``) and the metric judge
(``canary.engine.analysis.judge_metric``) run unchanged against a traffic model and a model of
Prometheus' ``rate()``; nothing here re-implements a decision rule. See docs/simulate.md.
"""
