"""ConfigDrift: overwrite one key of a ConfigMap or Secret the operator reads or owns.

Breaks: the operator sees configuration it did not write (or a corrupted certificate) and must
either reconcile it back or survive it. Revert writes the original value back.
"""

import base64
import re
from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, ExperimentSpec, InjectionType, RecoveryModel
from operator_chaos.injection import fieldswap, targets
from operator_chaos.injection.base import FieldPath, InjectionParams, TypeSpec
from operator_chaos.injection.fields import (
    MAX_VALUE_BYTES,
    PARAMS,
    NamespaceName,
    ObjectName,
    namespace_allowed,
    needs_high,
)
from operator_chaos.injection.protocol import Injector, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef

_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
PROTECTED_NAMES = frozenset(
    {
        "kube-root-ca.crt",
        "coredns",
        "kube-proxy",
        "cluster-info",
        "extension-apiserver-authentication",
        "kubeadm-config",
        "kubelet-config",
        "kube-apiserver",
        "scheduler-config",
        "etcd-client",
        "apiserver-etcd-client",
        "service-account-key",
        "oauth-serving-cert",
    }
)
PROTECTED_PREFIXES = ("etcd-", "kube-apiserver-", "openshift-service-ca")


class ResourceType(StrEnum):
    """Where the key lives."""

    CONFIG_MAP = "ConfigMap"
    SECRET = "Secret"


class Params(InjectionParams):
    """The key to overwrite and the value to put there."""

    name: ObjectName = Field(description="Name of the ConfigMap or Secret")
    key: str = Field(description="Data key to overwrite, e.g. config.yaml")
    value: str = Field(
        max_length=MAX_VALUE_BYTES, description="Value written in place of the original"
    )
    resource_type: ResourceType = Field(
        default=ResourceType.CONFIG_MAP, description="ConfigMap or Secret"
    )
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the object (default: the target namespace)"
    )

    @field_validator("name")
    @classmethod
    def _not_protected(cls, name: str) -> str:
        if name in PROTECTED_NAMES or name.startswith(PROTECTED_PREFIXES):
            raise ValueError(
                f"{name!r} is cluster-critical configuration; target the operator's own"
            )
        return name

    @field_validator("key")
    @classmethod
    def _data_key(cls, key: str) -> str:
        if len(key) > 253 or not _DATA_KEY.match(key):
            raise ValueError(
                f"{key!r} is not a valid data key: use letters, digits, '-', '_' and '.'"
            )
        return key

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        problems = namespace_allowed(spec, self.namespace, (*PARAMS, "namespace"))
        if self.resource_type is ResourceType.SECRET:
            problems += needs_high(
                spec,
                (*PARAMS, "resourceType"),
                "drifting a Secret keeps its original value in a rollback record",
            )
        return problems


SPEC = TypeSpec(
    injection_type=InjectionType.CONFIG_DRIFT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Overwrite one key of a ConfigMap or Secret.",
    record=fieldswap.FieldRecord,
    example=lambda component, namespace: {
        "name": f"{component}-config",
        "key": "config.yaml",
        "value": "{}",
    },
)


class ConfigDrift(fieldswap.FieldFault[Params]):
    """Overwrites one data key of a ConfigMap or Secret; revert restores it (or removes it)."""

    spec = SPEC

    async def target(
        self, kube: KubeClient, params: Params, scope: Scope
    ) -> tuple[ResourceRef, RawObject]:
        namespace = params.namespace or targets.need_namespace(scope, "ConfigDrift")
        return await targets.locate(kube, "v1", params.resource_type.value, params.name, namespace)

    def field_path(self, params: Params) -> tuple[str, ...]:
        return ("data", params.key)

    def new_value(self, params: Params) -> str:
        """Secrets hold base64 in ``data``; ConfigMaps hold the text itself."""
        if params.resource_type is ResourceType.SECRET:
            return base64.b64encode(params.value.encode()).decode()
        return params.value


INJECTOR: Injector[Params] = ConfigDrift()  # annotated so mypy checks the protocol
