"""Label and annotation keys the tool puts on what it creates (shared with the Go reference)."""

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "operator-chaos"
PREFIX = "chaos.operatorchaos.io"
RUN = f"{PREFIX}/run"
TYPE = f"{PREFIX}/type"
EXPERIMENT = f"{PREFIX}/experiment"
ROLE = f"{PREFIX}/role"
EXPIRES = f"{PREFIX}/expires"

DEFAULT_NAMESPACE = "operator-chaos"
"""Where the tool keeps its ledgers, leases and stored results (``--ledger-namespace``)."""


def managed(run_id: str, role: str, **extra: str) -> dict[str, str]:
    """Labels marking an object as the tool's, for one run."""
    return {MANAGED_BY: MANAGED_BY_VALUE, RUN: run_id, ROLE: role, **extra}
