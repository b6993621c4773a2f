"""Shared model configuration: camelCase on the wire, unknown fields refused."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from operator_chaos.api.v1alpha1.names import DNSName, NamespaceName

__all__ = ["ApiModel", "DNSName", "NamespaceName"]


class ApiModel(BaseModel):
    """Base of every wire model: camelCase aliases, ``extra="forbid"``, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
        validate_default=False,
    )
