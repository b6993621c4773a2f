"""ClientFault: make the operator's own API client fail or slow down, per operation.

Breaks: a share of the operator's gets, lists, updates (or whole reconciles) return an error
or stall, as an overloaded or flaky API server would. The fault table is published where the
reference project's SDK reads it (ConfigMap ``operator-chaos-config`` in the operator's
namespace, key ``config``; see :mod:`operator_chaos.injection.sdk_config`), so operators that
embed that SDK react unchanged; in the sandbox the agent's API relay applies the same table to
every operator's API calls, whatever its language. Revert deletes the ConfigMap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, Duration, InjectionType, RecoveryModel
from operator_chaos.injection import created, sdk_config, targets
from operator_chaos.injection.base import Access, InjectionParams, TypeSpec
from operator_chaos.injection.fields import DNSName, WireType
from operator_chaos.injection.protocol import InjectionFailed, Injector, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef

CONFIG_MAP_PREFIX = sdk_config.CONFIG_MAP_PREFIX
MAX_DELAY = timedelta(minutes=5)


class Operation(StrEnum):
    """Client operations a fault can be attached to."""

    GET = "get"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    PATCH = "patch"
    DELETE_ALL_OF = "deleteAllOf"
    RECONCILE = "reconcile"
    APPLY = "apply"


class OperationFault(BaseModel):
    """How one operation misbehaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(alias="errorRate", ge=0.0, le=1.0)
    error: str = ""
    delay: Duration | None = Field(default=None, le=MAX_DELAY)
    max_delay: Duration | None = Field(default=None, alias="maxDelay", le=MAX_DELAY)

    def wire(self) -> sdk_config.OperationFault:
        """The entry as the SDK's table holds it."""
        return sdk_config.OperationFault(
            error_rate=self.error_rate,
            error=self.error,
            delay=self.delay.total_seconds() if self.delay else 0.0,
            max_delay=self.max_delay.total_seconds() if self.max_delay else 0.0,
        )


def _from_json(value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except RecursionError:
            raise ValueError("faults nests too deeply to be a fault table") from None
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"faults is not valid JSON ({exc.msg} at character {exc.pos});"
                ' write it as a quoted JSON object: \'{"get": {"errorRate": 0.5}}\''
            ) from None
    return value


Faults = Annotated[
    dict[Operation, OperationFault],
    BeforeValidator(_from_json),
    Field(min_length=1),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 2,
            "description": 'JSON object: operation -> {"errorRate": 0..1, "error", "delay"}',
        }
    ),
    WireType("JSON object"),
]


class Params(InjectionParams):
    """The fault table and where it is published."""

    faults: Faults = Field(
        description=(
            "JSON object mapping an operation (get, list, create, update, delete, patch,"
            " deleteAllOf, reconcile, apply) to {errorRate, error, delay, maxDelay}"
        )
    )
    config_map_name: DNSName | None = Field(
        default=None,
        description=(
            f"ConfigMap that carries the faults (default {sdk_config.CONFIG_MAP_NAME};"
            f" prefix {CONFIG_MAP_PREFIX})"
        ),
    )

    @field_validator("config_map_name")
    @classmethod
    def _prefixed(cls, name: str | None) -> str | None:
        if name is not None and not name.startswith(CONFIG_MAP_PREFIX):
            raise ValueError(f"{name!r} must start with {CONFIG_MAP_PREFIX!r}")
        return name

    def table(self) -> dict[str, sdk_config.OperationFault]:
        """The faults keyed by operation name, as written to the ConfigMap."""
        return {op.value: fault.wire() for op, fault in self.faults.items()}


SPEC = TypeSpec(
    injection_type=InjectionType.CLIENT_FAULT,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Inject errors and delays into the operator's own API client calls.",
    record=created.CreatedRecord,
    access=(Access(("create", "delete"), why="ClientFault creates and deletes its ConfigMap"),),
    example=lambda component, namespace: {
        "faults": '{"get": {"errorRate": 0.3, "error": "api server throttled", "delay": "500ms"}}'
    },
)

SDK_ONLY = frozenset({Operation.RECONCILE})
"""Operations no API request shows: only operators embedding the SDK's wrappers see them."""


def describe(table: dict[str, sdk_config.OperationFault]) -> str:
    """``get: 30% errors ('throttled'), delay 0.5s; list: ...``."""
    return "; ".join(f"{op}: {fault.describe()}" for op, fault in sorted(table.items()))


class ClientFault(created.CreatedFault[Params]):
    """Creates the SDK's fault-table ConfigMap in the target namespace; revert deletes it.

    A ConfigMap of that name that already exists is refused, not overwritten: it is somebody
    else's table (the reference overwrites it and puts the old data back afterwards)."""

    spec = SPEC
    what = "fault table"

    def ref(self, params: Params, scope: Scope) -> ResourceRef:
        namespace = targets.need_namespace(scope, "ClientFault")
        name = params.config_map_name or sdk_config.CONFIG_MAP_NAME
        return ResourceRef("v1", "ConfigMap", name, namespace)

    def content(self, params: Params) -> RawObject:
        return {"data": {sdk_config.CONFIG_KEY: sdk_config.encode(params.table())}}

    def summary(self, params: Params) -> str:
        return f"fault table ({sdk_config.CONFIG_KEY}): {describe(params.table())}"

    async def verify(self, kube: KubeClient, params: Params, obj: RawObject) -> Sequence[str]:
        ref = ResourceRef.of(obj)
        try:
            live = sdk_config.from_configmap(obj)
        except ValueError as exc:
            raise InjectionFailed(f"{ref}: the fault table does not read back: {exc}") from None
        if live != params.table():
            raise InjectionFailed(f"{ref} holds another fault table than ours: the fault is NOT on")
        lines = [f"{ref} carries the active fault table: {describe(live)}"]
        sdk_only = sorted(op.value for op in params.faults if op in SDK_ONLY)
        if sdk_only:
            lines.append(
                f"{', '.join(sdk_only)}: only operators embedding the SDK's reconciler wrapper"
                " see this; no API request shows it"
            )
        return lines


INJECTOR: Injector[Params] = ClientFault()  # annotated so mypy checks the protocol
