"""Kubernetes failures as our own exceptions, with the transport error chained as the cause.

Callers branch on these types (``NotFound``, ``Conflict``...) and never on HTTP libraries, so
the adapter underneath can change without touching the stages above it.
"""

from typing import Any, ClassVar

from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus


class KubeError(OperatorChaosError):
    """An API call failed; ``str()`` names the verb, the object and the server's reason."""

    code: ClassVar[int] = 0

    def __init__(self, message: str, *, status: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status or {}

    @property
    def reason(self) -> str:
        """The Status ``reason`` the server sent, if any."""
        return str(self.status.get("reason", ""))


class BadRequest(KubeError):
    code = 400


class Unauthorized(KubeError):
    code = 401
    exit_status = ExitStatus.UNREACHABLE


class Forbidden(KubeError):
    code = 403
    exit_status = ExitStatus.UNREACHABLE


class NotFound(KubeError):
    code = 404


class Conflict(KubeError):
    """409: a resourceVersion precondition failed, or the object already exists."""

    code = 409

    @property
    def already_exists(self) -> bool:
        """True when the 409 means "already exists" rather than a stale resourceVersion."""
        return self.reason == "AlreadyExists"


class Gone(KubeError):
    """410: the resourceVersion a watch asked for is too old; re-list and watch again."""

    code = 410


class Invalid(KubeError):
    code = 422


class ServerError(KubeError):
    code = 500


class Unreachable(KubeError):
    """The API server could not be reached at all (connection refused, TLS, timeout)."""

    exit_status = ExitStatus.UNREACHABLE


def cause(exc: BaseException) -> str:
    """A transport error as text that is never empty: timeouts often have no message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ConfigError(KubeError):
    """No usable kubeconfig / context."""

    exit_status = ExitStatus.UNREACHABLE


BY_CODE: dict[int, type[KubeError]] = {
    cls.code: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Gone, Invalid)
}


def from_status(code: int, status: dict[str, Any], what: str) -> KubeError:
    """Build the right subclass for an HTTP status and a decoded ``Status`` body."""
    cls = BY_CODE.get(code, ServerError if code >= 500 else KubeError)
    message = str(status.get("message") or status.get("reason") or f"HTTP {code}")
    hint = _HINTS.get(cls, "")
    return cls(f"{what}: {message}{hint}", status=status)


_HINTS: dict[type[KubeError], str] = {
    Unauthorized: " (credentials rejected: check the kubeconfig user or refresh its token)",
    Forbidden: " (the tool's identity lacks this permission: run `operator-chaos preflight`)",
}
