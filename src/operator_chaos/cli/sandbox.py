"""``operator-chaos sandbox``: a local control plane for trying the tool and for its tests."""

import json

import click

from operator_chaos.cli import console


@click.group()
def sandbox() -> None:
    """Local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler,
    kwok) built from Kubernetes' Go modules and run on 127.0.0.1."""


_name = click.option("--name", default="default", show_default=True, help="Sandbox name.")


@sandbox.command()
@click.option("--force", is_flag=True, help="Rebuild even when the binaries are cached.")
def build(force: bool) -> None:
    """Build (once) the pinned control-plane binaries into ~/.cache/operator-chaos."""
    from operator_chaos.sandbox import build as builder

    seconds = builder.build_all(console.progress, force=force)
    console.progress(f"build finished in {seconds:.0f}s")


@sandbox.command()
@_name
@click.option("--scenario", "scenario", default=None, help="Also install this scenario.")
def up(name: str, scenario: str | None) -> None:
    """Start the sandbox (reuses a running one) and print its kubeconfig."""
    from operator_chaos.sandbox.cluster import Sandbox

    box = Sandbox(name)
    box.up(console.progress)
    if scenario:
        box.install_scenario(scenario, console.progress)
    click.echo(f"kubeconfig: {box.kubeconfig}")
    click.echo(f"export KUBECONFIG={box.kubeconfig}")


@sandbox.command()
@_name
def down(name: str) -> None:
    """Stop every process of the sandbox (also after a crash) and delete its state."""
    from operator_chaos.sandbox.cluster import Sandbox

    Sandbox(name).down(console.progress)


@sandbox.command()
@_name
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
def status(name: str, output: str) -> None:
    """Show each component's process and health."""
    from operator_chaos.sandbox.cluster import Sandbox

    box = Sandbox(name)
    rows = box.status()
    if output == "json":
        click.echo(json.dumps([_row(r) for r in rows]))
    else:
        state = box.state()
        click.echo(f"sandbox {name!r}: {state.server if state else 'not running'}")
        for r in rows:
            mark = "ok" if r.healthy else ("unhealthy" if r.running else "stopped")
            click.echo(f"  {r.name:<24} {mark:<10} pid={r.pid or '-':<8} {r.detail}")
        for name, w in box.workloads().items():
            net = (
                "partitioned" if w.get("egressBlocked") or w.get("ingressBlocked") else "network ok"
            )
            click.echo(
                f"  workload {name:<15} {'running' if w.get('pid') else 'stopped':<10}"
                f" pid={w.get('pid') or '-':<8} pod={w.get('pod') or '-'} starts={w.get('starts')}"
                f" restarts={w.get('restarts')} {net}"
            )
    if not all(r.healthy for r in rows):
        raise SystemExit(1)


def _row(r: object) -> dict[str, object]:
    return {k: getattr(r, k) for k in ("name", "pid", "running", "healthy", "detail")}


@sandbox.command()
@_name
def kubeconfig(name: str) -> None:
    """Print the path of the sandbox's admin kubeconfig."""
    from operator_chaos.sandbox.cluster import Sandbox

    box = Sandbox(name)
    if box.state() is None:
        raise click.ClickException(
            f"sandbox {name!r} is not running: run `operator-chaos sandbox up`"
        )
    click.echo(str(box.kubeconfig))


@sandbox.command("scenario")
@_name
@click.argument("scenario_name", metavar="SCENARIO", type=click.Choice(["training-operator"]))
def scenario_cmd(name: str, scenario_name: str) -> None:
    """Install a scenario (e.g. training-operator) into the running sandbox."""
    from operator_chaos.sandbox.cluster import Sandbox

    box = Sandbox(name)
    if not box.running():
        raise click.ClickException(
            f"sandbox {name!r} is not running: run `operator-chaos sandbox up`"
        )
    seconds = box.install_scenario(scenario_name, console.progress)
    console.progress(f"scenario {scenario_name} installed in {seconds:.1f}s")
