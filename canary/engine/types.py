"""What the Flagger decision function sees (observations) and decides (actions)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any

NORMAL, WARNING = "Normal", "Warning"


@dataclass(frozen=True)
class Readiness:
    ready: bool
    retriable: bool = True
    message: str = ""


READY = Readiness(True)


@dataclass(frozen=True)
class HookResult:
    name: str
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event the engine records about its object, for Flagger and Argo alike.
    ``reason`` is keyword-only: Flagger names almost all of its events "Synced"."""

    type: str  # "Normal" | "Warning"
    message: str
    _: KW_ONLY
    reason: str = "Synced"


@dataclass
class AnalysisResult:
    """Outcome of one analysis run: rollout webhooks then metrics, first failure stops it."""

    ok: bool
    events: list[Event] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class Observations:
    now: float  # wall seconds since the epoch
    target_hash: str
    target_replicas: int = 1
    primary_replicas: int = 1
    primary: Readiness = READY
    canary: Readiness = READY
    primary_weight: int = 100  # from the HTTPRoute, the source of truth
    canary_weight: int = 0
    hooks: dict[str, list[HookResult]] = field(default_factory=dict)
    analysis: AnalysisResult | None = None


@dataclass(frozen=True)
class Need:
    """The engine needs an outside answer before it can decide: run these and call again."""

    kind: str  # "hooks" | "analysis"
    hook_type: str = ""
    phase: str = ""  # the phase sent in the webhook payload


# -- actions, executed in order by the controller --------------------------------------------


@dataclass(frozen=True)
class SetRoutes:
    primary: int
    canary: int


@dataclass(frozen=True)
class ScaleTarget:
    replicas: int


@dataclass(frozen=True)
class Promote:
    """Copy the target's pod template (and replicas) to the primary Deployment."""


@dataclass(frozen=True)
class PostRollout:
    """Call post-rollout webhooks; runs after the status is written."""

    phase: str


Action = Event | SetRoutes | ScaleTarget | Promote | PostRollout


@dataclass
class Decision:
    status: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    need: Need | None = None
    summary: str = "idle"

    @property
    def events(self) -> list[Event]:
        return [a for a in self.actions if isinstance(a, Event)]
