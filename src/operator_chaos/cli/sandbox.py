"""``operator-chaos sandbox``: a local control plane for trying the tool and for its tests."""

import json
import time

import click

from operator_chaos.cli import console


@click.group()
def sandbox() -> None:
    """Local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler,
    kwok) built from Kubernetes' Go modules and run on 127.0.0.1."""


_name = click.option("--name", default="default", show_default=True, help="Sandbox name.")


@sandbox.command()
@click.option("--force", is_flag=True, help="Rebuild even when the binaries are cached.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    metavar="PATH|NAME",
    help="Also build this scenario's operator (repeatable; default: training-operator).",
)
def build(force: bool, scenarios: tuple[str, ...]) -> None:
    """Build (once) the pinned control-plane binaries into ~/.cache/operator-chaos.

    One build at a time: a second one waits for the first and says whom it waits for."""
    from operator_chaos.sandbox import build as builder
    from operator_chaos.sandbox import install, scenario

    loaded = [scenario.load(s) for s in scenarios or ("training-operator",)]
    started = time.monotonic()
    builder.build_all(console.progress, force=force)
    pieces = [t.name for t in builder.TARGETS]
    for sc in loaded:
        for op in sc.doc.spec.operators:
            install.program(sc, op, console.progress)
            if op.binary.go is not None:
                pieces.append(install.go_target(sc, op).name)
    console.progress(builder.cold_times(pieces))
    console.progress(f"build finished in {time.monotonic() - started:.0f}s")


@sandbox.command()
@_name
@click.option(
    "--scenario",
    "scenario_ref",
    default=None,
    metavar="PATH|NAME",
    help="Also install this scenario: a shipped name (see `sandbox scenarios`) or a file.",
)
def up(name: str, scenario_ref: str | None) -> None:
    """Start the sandbox (reuses a running one) and print its kubeconfig."""
    from operator_chaos.sandbox import scenario
    from operator_chaos.sandbox.cluster import Sandbox

    # Validate the scenario before anything starts: a typo must not cost a control plane.
    loaded = scenario.load(scenario_ref) if scenario_ref else None
    box = Sandbox(name)
    box.up(console.progress)
    if loaded is not None:
        box.install_scenario(str(loaded.file), console.progress)
    click.echo(f"kubeconfig: {box.kubeconfig}")
    click.echo(f"export KUBECONFIG={box.kubeconfig}")


@sandbox.command("scenarios")
def scenarios_cmd() -> None:
    """List the shipped scenarios (`sandbox up --scenario NAME`)."""
    from operator_chaos.sandbox import scenario

    for found_name, path in scenario.shipped().items():
        try:
            description = scenario.load(str(path)).doc.spec.description
        except Exception as exc:  # a broken shipped file must not hide the others
            description = f"(invalid: {str(exc).splitlines()[0]})"
        click.echo(f"{found_name:<20} {description}")


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
                f"  operator {name:<15} {'ready' if w.get('ready') else 'not ready':<10}"
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
@click.argument("scenario_ref", metavar="PATH|NAME")
def scenario_cmd(name: str, scenario_ref: str) -> None:
    """Install a scenario (a shipped name such as training-operator, or a scenario file) into
    the running sandbox."""
    from operator_chaos.sandbox import scenario
    from operator_chaos.sandbox.cluster import Sandbox

    loaded = scenario.load(scenario_ref)
    box = Sandbox(name)
    if not box.running():
        raise click.ClickException(
            f"sandbox {name!r} is not running: run `operator-chaos sandbox up`"
        )
    seconds = box.install_scenario(str(loaded.file), console.progress)
    console.progress(f"scenario {loaded.name} installed in {seconds:.1f}s")
