"""FinalizerBlock: add a finalizer nobody will remove, so the object cannot finish deleting.

Breaks: a delete of the object hangs in Terminating, which tests how the operator copes with
stuck children or its own stuck resources. Revert removes the finalizer, letting any pending
deletion complete.
"""

from collections.abc import Sequence

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import (
    CHAOS_GROUP,
    PARAMS,
    ApiVersion,
    Kind,
    NamespaceName,
    ObjectName,
    namespace_allowed,
    needs_high,
    targets_chaos_api,
)
from operator_chaos.injection.labels import label_key_problem

DEFAULT_FINALIZER = f"{CHAOS_GROUP}/block"
CLEANUP_FINALIZER = f"{CHAOS_GROUP}/cleanup"
FORBIDDEN_KINDS = frozenset({"Namespace", "Node"})
CORE_KINDS = frozenset(
    {
        "Secret",
        "ConfigMap",
        "ServiceAccount",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Service",
        "Endpoints",
    }
)


class Params(InjectionParams):
    """The object to block and the finalizer to hold it with."""

    api_version: ApiVersion
    kind: Kind
    name: ObjectName = Field(description="Name of the object that gets the finalizer")
    finalizer: str = Field(
        default=DEFAULT_FINALIZER,
        description="Finalizer to add, a qualified name such as example.com/hold",
    )
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the object (default: the target namespace)"
    )
    delete_after_inject: bool = Field(
        default=False,
        description="Also delete the object, so it sits in Terminating while blocked",
    )

    @field_validator("kind")
    @classmethod
    def _allowed_kind(cls, kind: str) -> str:
        if kind in FORBIDDEN_KINDS:
            raise ValueError(
                f"blocking a {kind}'s deletion is not allowed; pick a namespaced object"
            )
        return kind

    @field_validator("finalizer")
    @classmethod
    def _qualified(cls, finalizer: str) -> str:
        if finalizer == CLEANUP_FINALIZER:
            raise ValueError(f"{CLEANUP_FINALIZER!r} is the framework's own cleanup finalizer")
        if label_key_problem(finalizer):
            raise ValueError(
                f"finalizer {finalizer!r} must be a qualified name such as example.com/hold"
            )
        return finalizer

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems = namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))
        if targets_chaos_api(self.api_version, self.kind):
            problems.append(((*PARAMS, "kind"), "cannot block ChaosExperiment objects"))
        if self.api_version == "v1" and self.kind in CORE_KINDS:
            problems += needs_high(
                spec, (*PARAMS, "kind"), f"blocking deletion of a core {self.kind} is dangerous"
            )
        return problems


SPEC = TypeSpec(
    injection_type=InjectionType.FINALIZER_BLOCK,
    danger=DangerLevel.LOW,
    params=Params,
    summary="Hold an object in Terminating with a finalizer nobody removes.",
)
