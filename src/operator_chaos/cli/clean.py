"""``operator-chaos clean``: revert faults left behind by crashed or expired runs."""

import asyncio
import json
import sys
from typing import TYPE_CHECKING

import click

from operator_chaos.cli import common

if TYPE_CHECKING:
    from operator_chaos.orchestrator.clean import CleanReport


@click.command()
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also revert runs that still look alive (their process or lease).",
)
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
@common.ledger_cluster_options
def clean(
    everything: bool,
    output: str,
    kubeconfig: str | None,
    context: str | None,
    ledger_namespace: str,
) -> None:
    """Revert every recorded fault whose run is gone or whose TTL has passed (idempotent)."""
    from operator_chaos.orchestrator import clean as cleaner
    from operator_chaos.safety import policy

    policy.check_tool_namespace(ledger_namespace)  # before connecting: nothing to clean there
    kube = common.connect(kubeconfig, context)
    click.echo(f"cluster: {kube.server} (context {kube.context or '-'})", err=True)

    async def go() -> cleaner.CleanReport:
        async with kube:
            return await cleaner.clean(kube, ledger_namespace, everything=everything)

    report = asyncio.run(go())
    if output == "json":
        click.echo(json.dumps(report.__dict__, indent=2))
        _exit_if_left_behind(report)
        return
    for line in report.reverted:
        click.echo(f"restored: {line}")
    for line in report.skipped:
        click.echo(f"skipped: {line} (use --all to revert it anyway)")
    for name in report.removed_ledgers:
        click.echo(f"removed ledger {name}")
    for name in report.removed_leases:
        click.echo(f"removed lease {name}")
    for line in report.failed:
        click.echo(f"revert failed: {line}")
    for line in report.damaged:
        click.echo(f"damaged ledger: {line}")
    if not (
        report.reverted
        or report.skipped
        or report.removed_ledgers
        or report.removed_leases
        or report.damaged
        or report.failed
    ):
        click.echo("nothing to clean")
    _exit_if_left_behind(report)


def _exit_if_left_behind(report: "CleanReport") -> None:
    """Exit 7 when a fault or a damaged ledger is left for a human (every valid ledger has
    been reverted by then)."""
    if not report.ok:
        from operator_chaos.exitcodes import ExitStatus

        sys.exit(int(ExitStatus.REVERT_FAILED))
