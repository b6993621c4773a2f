"""``operator-chaos docs``: Markdown pages for MkDocs from knowledge and experiment files.

Sub-commands::

    docs failure-modes --experiments DIR --knowledge FILE [-o FILE] [--intro] [--operator N]
    docs operator      --knowledge FILE [--experiments DIR] [-o FILE] [--operator N]
    docs index         --experiments-root DIR --knowledge-dir DIR [-o FILE]
    docs all           --experiments-root DIR --knowledge-dir DIR -o OUTDIR [--nav-prefix P]

Every input is validated first (a page is never built from a file that does not load); errors
are printed one per line as ``file:line:column: field: message``. Output is deterministic
Markdown ending in one newline, so generated pages can be committed and diffed in CI.

Using the pages with MkDocs (Material): ``docs all -o docs/operators`` writes the index, two
pages per operator and ``mkdocs-nav.yml``, whose content goes under ``nav:``. The collapsible
"Experiment YAML" blocks and the tables need these extensions in ``mkdocs.yml``::

    theme:
      name: material
    markdown_extensions:
      - tables
      - admonition
      - pymdownx.details
      - pymdownx.superfences

Heavy modules (pydantic models, loaders, the injection registry) are imported inside the
commands, so ``operator-chaos --help`` stays fast.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import click

from operator_chaos.cli.output import check_directory, write_text

if TYPE_CHECKING:
    from operator_chaos.docgen.sources import ExperimentEntry
    from operator_chaos.knowledge.model import OperatorKnowledge

_DIR = click.Path(path_type=Path, file_okay=True, dir_okay=True)
_OUT = click.Path(path_type=Path)  # checked when writing: every bad -o is exit 3
_OPERATOR = click.option(
    "--operator",
    "operator_name",
    default=None,
    help="Keep only the experiments of this operator (spec.target.operator); the others are"
    " skipped with a warning. [default: the knowledge model's operator when experiments mix]",
)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    write_text(output, text)


def _entries_for(
    knowledge: "OperatorKnowledge", experiments_dir: Path, operator_name: str | None
) -> "list[ExperimentEntry]":
    """The experiments of the page's one operator; the others are skipped with a warning."""
    from operator_chaos.docgen.sources import collect, one_operator

    kept, skipped = one_operator(collect(experiments_dir), knowledge.operator.name, operator_name)
    keep = operator_name or knowledge.operator.name
    for entry in skipped:
        click.echo(
            f"warning: {entry.source}: skipped: targets operator {entry.operator!r}, not {keep!r}",
            err=True,
        )
    return kept


@click.group()
def docs() -> None:
    """Generate Failure-Modes and operator documentation (Markdown for MkDocs)."""


@docs.command("failure-modes")
@click.option(
    "--experiments", "experiments_dir", type=_DIR, required=True, help="Experiment directory."
)
@click.option("--knowledge", type=_DIR, required=True, help="The operator's knowledge file.")
@click.option("-o", "--output", type=_OUT, help="Write here instead of standard output.")
@click.option(
    "--intro/--no-intro", default=False, help="Add a line naming namespace and components."
)
@_OPERATOR
def failure_modes(
    experiments_dir: Path,
    knowledge: Path,
    output: Path | None,
    intro: bool,
    operator_name: str | None,
) -> None:
    """The per-operator Failure Modes page: coverage table and one section per experiment.

    Experiments that target another operator (spec.target.operator) are refused, unless
    --operator (or the knowledge model's operator) says which one the page is about.
    """
    from operator_chaos.docgen import failure_modes as page
    from operator_chaos.knowledge.loader import load_file

    loaded = load_file(knowledge)
    entries = _entries_for(loaded.model, experiments_dir, operator_name)
    _emit(page.render(loaded.model, entries, intro=intro), output)


@docs.command("operator")
@click.option("--knowledge", type=_DIR, required=True, help="The operator's knowledge file.")
@click.option(
    "--experiments", "experiments_dir", type=_DIR, help="Add a coverage matrix from these."
)
@click.option("-o", "--output", type=_OUT, help="Write here instead of standard output.")
@_OPERATOR
def operator(
    knowledge: Path, experiments_dir: Path | None, output: Path | None, operator_name: str | None
) -> None:
    """The operator overview: components, resources, webhooks, recovery, coverage."""
    from operator_chaos.docgen import operator_page
    from operator_chaos.knowledge.loader import load_file

    loaded = load_file(knowledge)
    entries = (
        _entries_for(loaded.model, experiments_dir, operator_name)
        if experiments_dir is not None
        else None
    )
    _emit(operator_page.render(loaded.model, entries), output)


_ROOT = click.option(
    "--experiments-root",
    type=_DIR,
    required=True,
    help="Holds one experiment directory per operator (named like its knowledge file).",
)
_KDIR = click.option(
    "--knowledge-dir", type=_DIR, required=True, help="Holds one knowledge file per operator."
)


@docs.command("index")
@_ROOT
@_KDIR
@click.option("-o", "--output", type=_OUT, help="Write here instead of standard output.")
def index(experiments_root: Path, knowledge_dir: Path, output: Path | None) -> None:
    """The index over many operators (links assume the layout `docs all` writes)."""
    from operator_chaos.docgen.site import gather, render_index

    _emit(render_index(gather(experiments_root, knowledge_dir)), output)


@docs.command("all")
@_ROOT
@_KDIR
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Output directory (created; existing pages are overwritten).",
)
@click.option(
    "--nav-prefix",
    default=None,
    help="Path of the output directory inside docs_dir, for mkdocs-nav.yml [default: its name].",
)
def all_pages(
    experiments_root: Path, knowledge_dir: Path, output: Path, nav_prefix: str | None
) -> None:
    """Write the whole site tree: index, two pages per operator and a nav snippet."""
    from operator_chaos.docgen.site import gather, render_site

    check_directory(output)
    files = render_site(gather(experiments_root, knowledge_dir), nav_prefix or output.name)
    for relative, text in files.items():
        write_text(output / relative, text)
        click.echo(output / relative)
