"""``operator-chaos completion bash|zsh|fish``: the shell completion script, and the custom
completions it offers (injection type names for ``init --type``, experiment files for
``run``/``validate``/``preflight``, directories for ``suite``).

Click does the completing: the script calls ``operator-chaos`` back with
``_OPERATOR_CHAOS_COMPLETE`` set. This module imports only click, because the commands that
use its completers import it at start-up.
"""

import os
from pathlib import Path

import click
from click.shell_completion import CompletionItem, get_completion_class

PROG = "operator-chaos"
COMPLETE_VAR = "_OPERATOR_CHAOS_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
_EXPERIMENT_SUFFIXES = (".yaml", ".yml")


def _entries(incomplete: str) -> tuple[str, list[os.DirEntry[str]]]:
    """The prefix typed so far (up to the last '/') and the entries of that directory."""
    head, _, _ = incomplete.rpartition("/")
    prefix = f"{head}/" if head or incomplete.startswith("/") else ""
    directory = Path(prefix or ".").expanduser()
    try:
        with os.scandir(directory) as it:
            return prefix, sorted(it, key=lambda e: e.name)
    except OSError:
        return prefix, []


def _paths(incomplete: str, *, files: bool) -> list[CompletionItem]:
    prefix, entries = _entries(incomplete)
    name_start = incomplete[len(prefix) :]
    items = []
    for entry in entries:
        if not entry.name.startswith(name_start):
            continue
        if entry.name.startswith(".") and not name_start.startswith("."):
            continue
        if entry.is_dir():
            items.append(CompletionItem(f"{prefix}{entry.name}/"))
        elif files and entry.name.endswith(_EXPERIMENT_SUFFIXES):
            items.append(CompletionItem(f"{prefix}{entry.name}"))
    return items


def experiment_files(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Experiment files (``*.yaml``, ``*.yml``) and directories to descend into."""
    return _paths(incomplete, files=True)


def directories(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Directories only (``suite`` runs a directory)."""
    return _paths(incomplete, files=False)


def injection_types(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The injection type names of the API (``PodKill``, ...), matched case-insensitively."""
    from operator_chaos.api.v1alpha1.injection import InjectionType

    typed = incomplete.lower()
    return [CompletionItem(t.value) for t in InjectionType if t.value.lower().startswith(typed)]


def script(shell: str) -> str:
    """Click's completion script for ``shell``, wired to this program."""
    from operator_chaos.cli.app import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click.Choice only lets SHELLS through
        raise click.UsageError(f"unsupported shell {shell}")
    return cls(cli, {}, PROG, COMPLETE_VAR).source()


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  eval "$(operator-chaos completion bash)"      (e.g. in ~/.bashrc)
    zsh:   eval "$(operator-chaos completion zsh)"       (e.g. in ~/.zshrc)
    fish:  operator-chaos completion fish > ~/.config/fish/completions/operator-chaos.fish
    """
    click.echo(script(shell), nl=False)
