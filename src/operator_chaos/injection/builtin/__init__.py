"""The built-in injection types: one declarative module per fault.

Each module defines ``Params`` and ``SPEC``; :mod:`operator_chaos.injection.registry` imports
the modules listed here and maps each type to its spec.
"""

MODULES: tuple[str, ...] = (
    "pod_kill",
    "network_partition",
    "crd_mutation",
    "config_drift",
    "webhook_disrupt",
    "rbac_revoke",
    "finalizer_block",
    "client_fault",
    "owner_ref_orphan",
    "quota_exhaustion",
    "webhook_latency",
    "namespace_deletion",
    "label_stomping",
    "secret_deletion",
    "deployment_scale_zero",
    "leader_election_disrupt",
    "crash_loop_inject",
    "image_corrupt",
    "resource_deletion",
    "pdb_block",
)
