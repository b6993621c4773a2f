"""Process exit codes: one per outcome a CI job may want to branch on."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """Documented exit codes of the ``operator-chaos`` command."""

    OK = 0  # success; for `run`, every experiment was Resilient
    ERROR = 1  # unexpected failure (a bug, or an error with no better code)
    USAGE = 2  # bad command line (click's own convention)
    INVALID = 3  # an experiment or knowledge file failed validation
    UNSAFE = 4  # refused by the safety gate before anything was changed
    LOCKED = 5  # another experiment holds the target's lease
    UNREACHABLE = 6  # the cluster could not be reached or refused our credentials
    REVERT_FAILED = 7  # a fault could not be reverted: run `operator-chaos clean`
    NOT_APPLICABLE = 8  # refused: the target is not in a state the fault applies to
    DEGRADED = 10  # verdict Degraded
    FAILED = 11  # verdict Failed
    INCONCLUSIVE = 12  # verdict Inconclusive
    INTERRUPTED = 130  # Ctrl-C / SIGTERM (faults were reverted)
