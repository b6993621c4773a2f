"""The per-operator "Failure Modes" page.

The reference page is what MkDocs (Material) renders; this is the Markdown behind it:

- ``training-operator Failure Modes``  <- ``# <operator.name> Failure Modes``
- ``Coverage`` and its table  <- ``## Coverage`` and a pipe table with the columns Injection
  Type, Danger (effective: ``injection.dangerLevel`` or the type's default), Experiment (file
  path relative to the experiments directory: the file name for a flat directory) and
  Description (the hypothesis, whitespace-collapsed, cut at 80 characters, then "...")
- ``Experiment Details``  <- ``## Experiment Details``
- each section title  <- ``### <metadata.name>``
- ``• Type: PodKill`` and the two other bullets  <- ``- **Type:** PodKill``,
  ``- **Danger Level:** low``, ``- **Component:** <spec.target.component>``
- the hypothesis paragraph  <- the hypothesis, whitespace-collapsed, as one paragraph
- ``Experiment YAML`` and the file  <- ``??? example "Experiment YAML"``: a closed
  pymdownx.details box (Material shows its title and opens it on click) holding the file
  verbatim in a ``yaml`` fence indented four spaces. A closed box keeps the page short while
  the exact YAML stays one click away; ``!!!`` would show every file expanded.

Rows and sections share one order: injection type, then file. The optional intro (off by
default, so the page matches the reference) names the namespace and the components.
"""

from operator_chaos.docgen import markdown as md
from operator_chaos.docgen.sources import ExperimentEntry
from operator_chaos.knowledge.model import OperatorKnowledge

COVERAGE_HEADER = ("Injection Type", "Danger", "Experiment", "Description")
YAML_TITLE = "Experiment YAML"


def render(
    knowledge: OperatorKnowledge, entries: list[ExperimentEntry], *, intro: bool = False
) -> str:
    """The whole page as Markdown (entries must come from :func:`sources.collect`)."""
    name = knowledge.operator.name
    blocks: list[list[str]] = [[f"# {name} Failure Modes"]]
    if intro:
        blocks.append([_intro(knowledge, entries)])
    blocks.append(["## Coverage"])
    if entries:
        blocks.append(md.table(COVERAGE_HEADER, (_coverage_row(e) for e in entries)))
    else:
        blocks.append(["No experiments yet."])
    blocks.append(["## Experiment Details"])
    for entry in entries:
        blocks.extend(_details(entry))
    return md.page(blocks)


def _intro(knowledge: OperatorKnowledge, entries: list[ExperimentEntry]) -> str:
    names = ", ".join(md.code(c) for c in knowledge.component_names)
    count = len(entries)
    noun = "experiment" if count == 1 else "experiments"
    return (
        f"{count} {noun} against {md.inline(knowledge.operator.name)}, which runs in namespace"
        f" {md.code(knowledge.operator.namespace)} with components {names}."
    )


def _coverage_row(entry: ExperimentEntry) -> list[str]:
    return [
        md.cell(entry.injection_type),
        md.cell(entry.danger.value),
        md.cell(entry.file),
        md.cell(md.cut(entry.description)),
    ]


def _details(entry: ExperimentEntry) -> list[list[str]]:
    return [
        [f"### {md.inline(entry.experiment.metadata.name)}"],
        [
            f"- **Type:** {md.inline(entry.injection_type)}",
            f"- **Danger Level:** {md.inline(entry.danger.value)}",
            f"- **Component:** {md.inline(entry.component)}",
        ],
        [md.inline(entry.description)],
        md.collapsible_code(YAML_TITLE, entry.yaml),
    ]
