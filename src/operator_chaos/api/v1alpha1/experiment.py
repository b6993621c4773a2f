"""The ``ChaosExperiment`` document (``chaos.operatorchaos.io/v1alpha1``)."""

from datetime import timedelta
from typing import Literal

from pydantic import Field

from operator_chaos.api.v1alpha1.base import ApiModel, DNSName, NamespaceName
from operator_chaos.api.v1alpha1.checks import SteadyStateSpec
from operator_chaos.api.v1alpha1.durations import Duration
from operator_chaos.api.v1alpha1.injection import InjectionSpec
from operator_chaos.api.v1alpha1.status import ExperimentStatus

API_VERSION = "chaos.operatorchaos.io/v1alpha1"
KIND = "ChaosExperiment"
MAX_RECOVERY_TIMEOUT = timedelta(hours=1)


class ObjectMeta(ApiModel):
    """The subset of Kubernetes ObjectMeta an experiment file may carry."""

    name: DNSName
    namespace: NamespaceName | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class TargetSpec(ApiModel):
    """Which operator and component the experiment is about."""

    operator: DNSName = Field(description="the operator under test, e.g. training-operator")
    component: DNSName = Field(description="the component (usually a Deployment) under test")
    resource: str | None = Field(
        default=None, description="the resource under test, e.g. Deployment/name or a Kind"
    )


class HypothesisSpec(ApiModel):
    """What should happen, and how long the operator gets to recover."""

    description: str = Field(min_length=1)
    recovery_timeout: Duration = Field(default=timedelta(seconds=60), le=MAX_RECOVERY_TIMEOUT)


class BlastRadiusSpec(ApiModel):
    """Limits the fault may not exceed; checked before any change to the cluster."""

    max_pods_affected: int = Field(ge=1)
    allowed_namespaces: list[NamespaceName] = Field(default_factory=list)
    forbidden_resources: list[str] = Field(default_factory=list)
    allow_dangerous: bool = False
    dry_run: bool = False


class ExperimentSpec(ApiModel):
    """Everything the experiment asks for."""

    tier: int = Field(default=1, ge=1, le=6)
    target: TargetSpec
    steady_state: SteadyStateSpec = Field(default_factory=SteadyStateSpec)
    injection: InjectionSpec
    hypothesis: HypothesisSpec
    blast_radius: BlastRadiusSpec


class ChaosExperiment(ApiModel):
    """A declarative chaos experiment, as written in YAML or stored as a custom resource."""

    api_version: Literal["chaos.operatorchaos.io/v1alpha1"]
    kind: Literal["ChaosExperiment"]
    metadata: ObjectMeta
    spec: ExperimentSpec
    status: ExperimentStatus | None = None
