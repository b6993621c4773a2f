"""The injection block of an experiment: which fault, how dangerous, for how long.

``parameters`` stays a raw mapping here: each injection type owns its typed parameter model
(in ``operator_chaos.injection.builtin``) and the loader validates against it, so the API layer
never needs to know the list of fault implementations.
"""

from datetime import timedelta
from enum import StrEnum

from pydantic import Field

from operator_chaos.api.v1alpha1.base import ApiModel
from operator_chaos.api.v1alpha1.durations import Duration

MAX_TTL = timedelta(hours=1)


class InjectionType(StrEnum):
    """Every fault type known to the ``v1alpha1`` API (wire names)."""

    POD_KILL = "PodKill"
    NETWORK_PARTITION = "NetworkPartition"
    CRD_MUTATION = "CRDMutation"
    CONFIG_DRIFT = "ConfigDrift"
    WEBHOOK_DISRUPT = "WebhookDisrupt"
    RBAC_REVOKE = "RBACRevoke"
    FINALIZER_BLOCK = "FinalizerBlock"
    CLIENT_FAULT = "ClientFault"
    OWNER_REF_ORPHAN = "OwnerRefOrphan"
    QUOTA_EXHAUSTION = "QuotaExhaustion"
    WEBHOOK_LATENCY = "WebhookLatency"
    NAMESPACE_DELETION = "NamespaceDeletion"
    LABEL_STOMPING = "LabelStomping"
    SECRET_DELETION = "SecretDeletion"
    DEPLOYMENT_SCALE_ZERO = "DeploymentScaleZero"
    LEADER_ELECTION_DISRUPT = "LeaderElectionDisrupt"
    CRASH_LOOP_INJECT = "CrashLoopInject"
    IMAGE_CORRUPT = "ImageCorrupt"
    RESOURCE_DELETION = "ResourceDeletion"
    PDB_BLOCK = "PDBBlock"


class DangerLevel(StrEnum):
    """How much damage a fault can do; ``high`` requires ``blastRadius.allowDangerous``."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Order for comparisons (low < medium < high)."""
        return ("low", "medium", "high").index(self.value)


class RecoveryModel(StrEnum):
    """Who must undo a fault, and so how a run is judged.

    ``repair``: the fault damages state the operator owns (a field, a label, a pod, an
    object); the tool leaves the damage in place and watches for the operator to restore it.
    Recovery time runs from the injection. ``condition``: the fault is a condition of the
    environment (a partition, revoked RBAC) that the operator must survive; the tool holds it,
    lifts it, then watches the operator resume. Recovery time runs from the lift.
    """

    REPAIR = "repair"
    CONDITION = "condition"


ParameterValue = str | int | float | bool


class InjectionSpec(ApiModel):
    """One fault: its type, raw parameters, how many targets, how long it may live."""

    type: InjectionType
    parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    count: int = Field(default=1, ge=1, le=100)
    ttl: Duration = Field(default=timedelta(minutes=5), le=MAX_TTL)
    danger_level: DangerLevel | None = None
    recovery_model: RecoveryModel | None = Field(
        default=None,
        description=(
            "repair: the operator must restore what the fault damaged (the tool does not undo"
            " it before the verdict); condition: the tool lifts the fault after the hold and"
            " the operator must resume. Default: the type's own model, or repair when the"
            " knowledge model lists the disrupted object as managed by the component."
        ),
    )


class PlannedChange(ApiModel):
    """One field the injection changes (the dry-run plan and the audit trail)."""

    target: str
    field: str
    before: str
    after: str
