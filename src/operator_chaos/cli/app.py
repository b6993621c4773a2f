"""Root of the ``operator-chaos`` command.

Sub-commands are registered by import path and imported only when invoked, so ``--help`` and
``validate`` start fast (the budget is 250 ms): pydantic, rich and the Kubernetes client are
never imported for a command that does not need them.
"""

import importlib
import os
import sys
from typing import Any

import click

from operator_chaos import __version__
from operator_chaos.errors import OperatorChaosError
from operator_chaos.exitcodes import ExitStatus

# name -> ("module:attribute", one-line help shown by --help without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("operator_chaos.cli.validate:validate", "Validate experiment or knowledge files."),
    "init": ("operator_chaos.cli.scaffold:init", "Write a skeleton experiment that validates."),
    "types": ("operator_chaos.cli.catalog:types", "List injection types, danger and parameters."),
    "schema": ("operator_chaos.cli.catalog:schema", "Print the JSON Schema of ChaosExperiment."),
    "crd": ("operator_chaos.cli.catalog:crd", "Print the ChaosExperiment CRD."),
    "docs": ("operator_chaos.cli.docs:docs", "Generate Failure-Modes and operator documentation."),
    "run": ("operator_chaos.cli.run:run", "Run experiments against a cluster."),
    "suite": ("operator_chaos.cli.run:suite", "Run every experiment in a directory."),
    "clean": ("operator_chaos.cli.clean:clean", "Revert every fault whose run is gone or expired."),
    "preflight": ("operator_chaos.cli.preflight:preflight", "Check cluster access and targets."),
    "results": ("operator_chaos.cli.results:results", "List stored results; show or re-report."),
    "sandbox": ("operator_chaos.cli.sandbox:sandbox", "Local Kubernetes control plane to try it."),
    "demo": ("operator_chaos.cli.demo:demo", "Sandbox + seed experiments + reports, end to end."),
    "version": ("operator_chaos.cli.app:version", "Print the version."),
    "completion": ("operator_chaos.cli.completion:completion", "Print a shell completion script."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target[0].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - wiring bug
            raise TypeError(f"{target[0]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="operator-chaos")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Chaos engineering for Kubernetes operators.

    Inject one fault, then check that the operator puts everything back the way it should be.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@click.command()
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text")
def version(output: str) -> None:
    """Print the version."""
    if output == "json":
        import json

        from operator_chaos import API_VERSION

        click.echo(json.dumps({"version": __version__, "apiVersion": API_VERSION}))
    else:
        click.echo(f"operator-chaos {__version__}")


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: one line per user error, no traceback unless --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    # The CLI builds its own models only; scanning every installed package for pydantic
    # plugins (entry points) costs ~10 ms of each start. Documented pydantic setting; a user
    # who wants plugins in this process sets the variable themselves.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        return cli.main(args=args, prog_name="operator-chaos", standalone_mode=False)
    except OperatorChaosError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_status))
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitStatus.USAGE if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
