"""ClientFault: make the operator's own API client fail or slow down, per operation.

Breaks: a share of the operator's gets, lists, updates (or whole reconciles) return an error
or stall, as an overloaded or flaky API server would. The fault table lives in a ConfigMap the
operator's chaos-aware client reads; revert deletes it.
"""

import json
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from operator_chaos.api.v1alpha1 import DangerLevel, Duration, InjectionType, RecoveryModel
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import DNSName, WireType

CONFIG_MAP_PREFIX = "operator-chaos-"
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
        default=None, description=f"ConfigMap that carries the faults (prefix {CONFIG_MAP_PREFIX})"
    )

    @field_validator("config_map_name")
    @classmethod
    def _prefixed(cls, name: str | None) -> str | None:
        if name is not None and not name.startswith(CONFIG_MAP_PREFIX):
            raise ValueError(f"{name!r} must start with {CONFIG_MAP_PREFIX!r}")
        return name


SPEC = TypeSpec(
    injection_type=InjectionType.CLIENT_FAULT,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Inject errors and delays into the operator's own API client calls.",
)
