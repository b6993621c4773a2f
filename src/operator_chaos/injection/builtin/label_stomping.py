"""LabelStomping: overwrite or delete one label on an object the operator manages.

Breaks: selectors and ownership checks that rely on the label stop matching, which is how a
careless user or another controller would break things. Revert restores the label's original
value (or removes it if it did not exist).
"""

from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection import fieldswap, targets
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import (
    CHAOS_GROUP,
    PARAMS,
    ApiVersion,
    Kind,
    LabelKey,
    LabelValue,
    ObjectName,
    needs_high,
)
from operator_chaos.injection.protocol import Injector, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef

DEFAULT_VALUE = "chaos-stomped"
SYSTEM_DOMAINS = ("kubernetes.io", "k8s.io")
RESERVED_KEYS = frozenset({"app.kubernetes.io/managed-by"})


class Action(StrEnum):
    """What happens to the label."""

    OVERWRITE = "overwrite"
    DELETE = "delete"


class Params(InjectionParams):
    """The object, the label and what to do with it."""

    api_version: ApiVersion
    kind: Kind
    name: ObjectName = Field(description="Name of the object whose label is stomped")
    label_key: LabelKey = Field(description="Label to change, e.g. app.kubernetes.io/name")
    action: Action = Field(description="overwrite or delete")
    new_value: LabelValue | None = Field(
        default=None, description=f"Value written by overwrite (default {DEFAULT_VALUE!r})"
    )

    @field_validator("label_key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key in RESERVED_KEYS or key.startswith(f"{CHAOS_GROUP}/"):
            raise ValueError(f"{key!r} is used by the chaos framework to track its own changes")
        return key

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems: list[tuple[FieldPath, str]] = []
        if self.action is Action.DELETE and self.new_value is not None:
            problems.append(
                ((*PARAMS, "newValue"), "newValue is unused by action delete; remove it")
            )
        prefix = self.label_key.rpartition("/")[0]
        if prefix.endswith(SYSTEM_DOMAINS):
            problems += needs_high(
                spec, (*PARAMS, "labelKey"), f"{self.label_key} is a Kubernetes system label"
            )
        return problems


SPEC = TypeSpec(
    injection_type=InjectionType.LABEL_STOMPING,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Overwrite or delete one label on a managed object.",
    record=fieldswap.FieldRecord,
    example=lambda component, namespace: {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": component,
        "labelKey": "app",
        "action": "overwrite",
    },
)


class LabelStomping(fieldswap.FieldFault[Params]):
    """Overwrites or deletes one label; revert restores it unless it was changed since."""

    spec = SPEC

    async def target(
        self, kube: KubeClient, params: Params, scope: Scope
    ) -> tuple[ResourceRef, RawObject]:
        ref, obj = await targets.locate(
            kube, params.api_version, params.kind, params.name, scope.namespace
        )
        if self.removes(params) and not fieldswap.lookup(obj, self.field_path(params))[0]:
            raise targets.InjectionRefused(
                f"{ref} has no label {params.label_key}: nothing to delete"
            )
        return ref, obj

    def field_path(self, params: Params) -> tuple[str, ...]:
        return ("metadata", "labels", params.label_key)

    def new_value(self, params: Params) -> str:
        return params.new_value if params.new_value is not None else DEFAULT_VALUE

    def removes(self, params: Params) -> bool:
        return params.action is Action.DELETE


INJECTOR: Injector[Params] = LabelStomping()  # annotated so mypy checks the protocol
