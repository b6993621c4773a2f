"""Kubernetes name grammar, checked the way the API server checks it.

One home for DNS-1123 names, label keys and values (qualified names), apiVersions and kinds, so
experiments, knowledge models and injection parameters all refuse the same mistakes with the
same words.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
API_VERSION_PATTERN = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$"
KIND_PATTERN = r"^[A-Z][A-Za-z0-9]*$"


def is_dns_subdomain(value: str) -> bool:
    """A DNS-1123 subdomain: lowercase alphanumerics, '-' and '.', at most 253 characters."""
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key / qualified name, or ``None``."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        return f"label key {key!r} has an empty prefix before '/'"
    if prefix and not is_dns_subdomain(prefix):
        return f"label key prefix {prefix!r} is not a DNS subdomain (lowercase, digits, '-', '.')"
    if not name:
        return f"label key {key!r} has an empty name"
    if len(name) > 63 or not _QUALIFIED.match(name):
        return (
            f"label key {key!r}: the name part must be at most 63 characters of letters, digits,"
            " '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value, or ``None`` (the empty value is valid)."""
    if value and (len(value) > 63 or not _QUALIFIED.match(value)):
        return (
            f"label value {value!r} must be at most 63 characters of letters, digits, '-', '_'"
            " or '.', starting and ending with a letter or digit"
        )
    return None


def _label_key(value: str) -> str:
    problem = label_key_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _label_value(value: str) -> str:
    problem = label_value_problem(value)
    if problem:
        raise ValueError(problem)
    return value


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


QualifiedName = Annotated[str, AfterValidator(_label_key)]
"""A label key or finalizer: an optional DNS-subdomain prefix and '/', then a name."""

LabelValue = Annotated[str, AfterValidator(_label_value)]
"""A label value (may be empty)."""

ApiVersion = Annotated[
    str, Field(pattern=API_VERSION_PATTERN, description="API version, e.g. apps/v1 or v1")
]
"""``v1`` or ``group/version``."""

Kind = Annotated[str, Field(pattern=KIND_PATTERN, description="Kind, e.g. Deployment")]
"""A CamelCase kind."""

DNSName = Annotated[str, AfterValidator(_dns1123_subdomain)]
"""An object name (DNS-1123 subdomain), as Kubernetes requires for metadata.name."""

NamespaceName = Annotated[str, AfterValidator(_dns1123_label)]
"""A namespace name (DNS-1123 label)."""
