"""LeaderElectionDisrupt: delete the operator's leader-election Lease.

Breaks: the current leader loses its lease record, forcing a new election; a healthy operator
re-acquires leadership without double reconciles or a stall. Revert recreates the Lease from its
backup only if no replica has recreated it.
"""

from pydantic import Field

from operator_chaos.api.v1alpha1 import DangerLevel, InjectionType, RecoveryModel
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName


class Params(InjectionParams):
    """The Lease to delete."""

    name: ObjectName = Field(description="Name of the leader-election Lease, e.g. 1a2b3c4d.io")


SPEC = TypeSpec(
    injection_type=InjectionType.LEADER_ELECTION_DISRUPT,
    recovery_model=RecoveryModel.REPAIR,
    danger=DangerLevel.MEDIUM,
    params=Params,
    summary="Delete the leader-election Lease to force a re-election.",
)
