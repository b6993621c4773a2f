"""The fault table of the reference project's SDK, as it is stored on the cluster.

Operators that embed the Go reference's SDK (its ``ChaosClient`` / ``ChaosTransport``) read a
ConfigMap in their own namespace, by default ``operator-chaos-config``, key ``config``, holding
``{"active": true, "faults": {"<operation>": {"errorRate": 0.3, "error": "...", "delay": N,
"maxDelay": N}}}``. The SDK decodes ``delay``/``maxDelay`` into Go ``time.Duration`` fields
with ``encoding/json``, which accepts integer nanoseconds only, so this module writes them as
integers (a duration string such as ``"500ms"`` would make the SDK reject the whole table).
Reading is lenient: numbers are nanoseconds, strings are Go durations.

Shared by the ClientFault injector (which writes the table) and the sandbox's API relay
(which applies it to any operator's API calls).
"""

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from operator_chaos.api.v1alpha1.durations import parse_duration

CONFIG_MAP_NAME = "operator-chaos-config"
CONFIG_MAP_PREFIX = "operator-chaos-"
CONFIG_KEY = "config"
OPERATIONS = (
    "get",
    "list",
    "create",
    "update",
    "delete",
    "patch",
    "deleteAllOf",
    "reconcile",
    "apply",
)
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class OperationFault:
    """How one operation misbehaves: a share of errors and a fixed or random delay."""

    error_rate: float = 0.0
    error: str = ""
    delay: float = 0.0
    """Seconds to wait before the call (unless ``max_delay`` is set)."""
    max_delay: float = 0.0
    """When set, wait a random time in ``[0, max_delay)`` instead of ``delay``."""

    def draw(self, rng: random.Random) -> tuple[float, bool]:
        """``(seconds to wait, fail?)`` for one call, as the SDK decides them."""
        wait = rng.uniform(0.0, self.max_delay) if self.max_delay > 0 else self.delay
        return wait, self.error_rate > 0 and rng.random() < self.error_rate

    def describe(self) -> str:
        """``30% errors ("throttled"), delay 0.5s``."""
        parts = []
        if self.error_rate > 0:
            parts.append(
                f"{self.error_rate:.0%} errors" + (f" ({self.error!r})" if self.error else "")
            )
        if self.max_delay > 0:
            parts.append(f"random delay up to {self.max_delay:g}s")
        elif self.delay > 0:
            parts.append(f"delay {self.delay:g}s")
        return ", ".join(parts) or "no effect"


def encode(faults: Mapping[str, OperationFault]) -> str:
    """The ``config`` value for ``faults`` (active), in the SDK's JSON shape."""
    table: dict[str, dict[str, Any]] = {}
    for op, fault in sorted(faults.items()):
        entry: dict[str, Any] = {"errorRate": fault.error_rate, "error": fault.error}
        if fault.delay > 0:
            entry["delay"] = round(fault.delay * _NS)
        if fault.max_delay > 0:
            entry["maxDelay"] = round(fault.max_delay * _NS)
        table[op] = entry
    return json.dumps({"active": True, "faults": table}, sort_keys=True, separators=(",", ":"))


def _seconds(value: object, where: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{where}: must not be negative")
        return float(value) / _NS
    if isinstance(value, str):
        return parse_duration(value).total_seconds() if value else 0.0
    raise ValueError(f"{where}: expected nanoseconds or a Go duration, got {value!r}")


def decode(text: str) -> dict[str, OperationFault]:
    """The active faults of a ``config`` value (``{}`` when inactive or empty).

    Raises ``ValueError`` for a value the SDK could not use either."""
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{CONFIG_KEY} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{CONFIG_KEY} must be a JSON object")
    if not doc.get("active", True):
        return {}
    raw = doc.get("faults") or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{CONFIG_KEY}.faults must be a JSON object")
    table: dict[str, OperationFault] = {}
    for op, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{CONFIG_KEY}.faults.{op} must be a JSON object")
        rate = entry.get("errorRate", 0.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"{CONFIG_KEY}.faults.{op}.errorRate must be a number in [0, 1]")
        table[str(op)] = OperationFault(
            error_rate=float(rate),
            error=str(entry.get("error") or ""),
            delay=_seconds(entry.get("delay"), f"{CONFIG_KEY}.faults.{op}.delay"),
            max_delay=_seconds(entry.get("maxDelay"), f"{CONFIG_KEY}.faults.{op}.maxDelay"),
        )
    return table


def from_configmap(cm: Mapping[str, Any]) -> dict[str, OperationFault]:
    """The active faults a ConfigMap carries (``{}`` without a ``config`` key)."""
    return decode(str((cm.get("data") or {}).get(CONFIG_KEY) or ""))
