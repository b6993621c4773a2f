"""CRDMutation: set one field of a custom resource (or other object) to a wrong value.

Breaks: the object's spec drifts from what the operator last applied, which is exactly what its
reconcile loop should detect and repair. Revert writes the original value back.
"""

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection import fieldswap, targets
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import (
    MAX_VALUE_BYTES,
    PARAMS,
    ApiVersion,
    Kind,
    NamespaceName,
    ObjectName,
    is_core_api,
    namespace_allowed,
    needs_high,
    targets_chaos_api,
)
from operator_chaos.injection.protocol import Injector, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
IDENTITY_PATHS = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "metadata.resourceVersion",
        "metadata.generation",
        "metadata.creationTimestamp",
        "metadata.deletionTimestamp",
        "metadata.deletionGracePeriodSeconds",
    }
)
SENSITIVE_FIELDS = frozenset(
    {
        "replicas",
        "serviceAccountName",
        "serviceAccount",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "securityContext",
        "volumes",
        "containers",
        "initContainers",
        "nodeName",
        "nodeSelector",
        "template",
        "selector",
        "strategy",
        "updateStrategy",
        "affinity",
        "tolerations",
        "priorityClassName",
        "runtimeClassName",
        "automountServiceAccountToken",
        "dnsPolicy",
        "shareProcessNamespace",
        "schedulerName",
    }
)


class Params(InjectionParams):
    """The object, the field and the value to put there."""

    api_version: ApiVersion
    kind: Kind
    name: ObjectName = Field(description="Name of the object to mutate")
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the object (default: the target namespace)"
    )
    path: str | None = Field(
        default=None, max_length=253, description="Dotted path of the field, e.g. spec.replicas"
    )
    field: str | None = Field(
        default=None,
        max_length=253,
        description="Top-level spec field (legacy form of path: spec.<field>)",
    )
    value: str = Field(
        max_length=MAX_VALUE_BYTES,
        description="New value as JSON text: a string, number, true/false, null, object or list",
    )

    @field_validator("path")
    @classmethod
    def _path(cls, path: str | None) -> str | None:
        if path is None:
            return None
        for segment in path.split("."):
            if not _SEGMENT.match(segment):
                raise ValueError(
                    f"path {path!r}: segment {segment!r} is not a field name"
                    " (write a dotted path such as spec.replicas)"
                )
        if path in IDENTITY_PATHS:
            raise ValueError(f"{path!r} is part of the object's identity and cannot be mutated")
        return path

    @field_validator("field")
    @classmethod
    def _field(cls, field: str | None) -> str | None:
        if field is not None and not _SEGMENT.match(field):
            raise ValueError(f"field {field!r} is not a field name; use path for nested fields")
        return field

    @property
    def leaf(self) -> str:
        """The name of the field that changes."""
        return (self.path or self.field or "").rsplit(".", 1)[-1]

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems = namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))
        if (self.path is None) == (self.field is None):
            problems.append(((*PARAMS, "path"), "set exactly one of path or field"))
        if targets_chaos_api(self.api_version, self.kind):
            problems.append(((*PARAMS, "kind"), "cannot mutate ChaosExperiment objects"))
        value_path: FieldPath = (*PARAMS, "value")
        if self.value.strip() == "null":
            problems += needs_high(spec, value_path, "value null deletes the field")
        elif _is_container(self.value):
            problems += needs_high(spec, value_path, "an object or list value replaces a subtree")
        if self.leaf in SENSITIVE_FIELDS:
            problems += needs_high(
                spec, (*PARAMS, "path" if self.path else "field"), f"{self.leaf} is sensitive"
            )
        if is_core_api(self.api_version):
            problems += needs_high(
                spec,
                (*PARAMS, "apiVersion"),
                f"{self.api_version} is a built-in API, not a custom resource",
            )
        return problems


def _is_container(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict | list)
    except RecursionError:
        return True  # only containers nest, and this one nests very deeply
    except ValueError:
        return False


SPEC = TypeSpec(
    injection_type=InjectionType.CRD_MUTATION,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Set one field of an object to a wrong value; the operator must reconcile it back.",
    record=fieldswap.FieldRecord,
    example=lambda component, namespace: {
        "apiVersion": "example.com/v1",
        "kind": "MyResource",
        "name": "my-resource",
        "path": "spec.exampleField",
        "value": "chaos-value",
    },
)


class CRDMutation(fieldswap.FieldFault[Params]):
    """Sets one field of a (custom) resource; revert restores it unless it was changed since."""

    spec = SPEC

    async def target(
        self, kube: KubeClient, params: Params, scope: Scope
    ) -> tuple[ResourceRef, RawObject]:
        return await targets.locate(
            kube, params.api_version, params.kind, params.name, params.namespace or scope.namespace
        )

    def field_path(self, params: Params) -> tuple[str, ...]:
        return tuple(params.path.split(".")) if params.path else ("spec", params.field or "")

    def new_value(self, params: Params) -> Any:
        """The value as JSON when it parses (numbers, booleans, objects), else as a string."""
        try:
            return json.loads(params.value)
        except ValueError:
            return params.value


INJECTOR: Injector[Params] = CRDMutation()  # annotated so mypy checks the protocol
