"""``operator-chaos preflight``: is everything in place to run these experiments?"""

import asyncio
import json
import sys

import click

from operator_chaos.cli import common, completion
from operator_chaos.exitcodes import ExitStatus


@click.command()
@click.argument(
    "files", nargs=-1, type=click.Path(exists=True), shell_complete=completion.experiment_files
)
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
@common.namespace_option
@common.cluster_options
def preflight(
    files: tuple[str, ...],
    output: str,
    kubeconfig: str | None,
    context: str | None,
    ledger_namespace: str,
    namespace: str | None,
) -> None:
    """Check cluster access, the tool's own permissions and the experiments' targets.

    Changes nothing: permissions are asked with SelfSubjectAccessReview and targets are
    resolved with the same read-only planning step `run` uses.
    """
    from operator_chaos.orchestrator import preflight as checks

    items = common.in_namespace(common.load_experiments(files), namespace) if files else []
    kube = common.connect(kubeconfig, context)

    async def go() -> checks.PreflightReport:
        async with kube:
            return await checks.preflight(kube, items, ledger_namespace)

    report = asyncio.run(go())
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "server": report.server,
                    "ok": report.ok,
                    "findings": [f.__dict__ for f in report.findings],
                },
                indent=2,
            )
        )
    else:
        click.echo(f"cluster: {report.server}")
        for f in report.findings:
            mark = "ok  " if f.ok else "FAIL"
            click.echo(f"  {mark} {f.what}" + (f" ({f.detail})" if f.detail else ""))
        failed = sum(1 for f in report.findings if not f.ok)
        click.echo("preflight passed" if report.ok else f"preflight failed: {failed} problem(s)")
    sys.exit(ExitStatus.OK if report.ok else ExitStatus.UNREACHABLE)
