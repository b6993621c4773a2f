"""Shared model configuration: camelCase on the wire, unknown fields refused."""

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


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


def _dns1123_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a valid DNS-1123 name: use lowercase letters, digits, '-' and '.',"
            " starting and ending with a letter or digit (max 253 characters)"
        )
    return value


def _dns1123_label(value: str) -> str:
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid DNS-1123 label: use lowercase letters, digits and '-',"
            " starting and ending with a letter or digit (max 63 characters)"
        )
    return value


DNSName = Annotated[str, AfterValidator(_dns1123_subdomain)]
"""An object name (DNS-1123 subdomain), as Kubernetes requires for metadata.name."""

NamespaceName = Annotated[str, AfterValidator(_dns1123_label)]
"""A namespace name (DNS-1123 label)."""
