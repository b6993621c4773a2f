"""The error root every user-facing failure derives from.

The CLI catches only :class:`OperatorChaosError` and prints ``str(error)`` as one line, so each
subclass must render a message that names the file/field or the Kubernetes object and the fix.
Anything else escaping to the CLI is a bug and is shown with a traceback under ``--debug``.
"""

from typing import ClassVar

from operator_chaos.exitcodes import ExitStatus


class OperatorChaosError(Exception):
    """Base of every error a user is meant to read."""

    exit_status: ClassVar[ExitStatus] = ExitStatus.ERROR


class UsageError(OperatorChaosError):
    """The command line or a ``--set`` override cannot be applied."""

    exit_status = ExitStatus.USAGE


class SafetyViolation(OperatorChaosError):
    """The safety gate refused an experiment; nothing was changed on the cluster."""

    exit_status = ExitStatus.UNSAFE


class TargetLocked(OperatorChaosError):
    """Another live experiment holds the per-target lease."""

    exit_status = ExitStatus.LOCKED


class RevertFailed(OperatorChaosError):
    """A fault could not be reverted; its rollback record stays on the cluster for `clean`."""

    exit_status = ExitStatus.REVERT_FAILED
