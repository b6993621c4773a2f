"""``types``, ``schema`` and ``crd``: what the experiment format accepts, from the models."""

import click


@click.command()
@click.option(
    "--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def types(output: str) -> None:
    """List injection types with their default danger, whether they run yet, and parameters."""
    from operator_chaos.injection.registry import all_specs, runnable_types
    from operator_chaos.load.schema import parameter_info

    specs = all_specs()
    runnable = set(runnable_types())
    if output == "json":
        import json

        rows = [
            {
                "type": spec.injection_type.value,
                "danger": spec.danger.value,
                "runnable": spec.injection_type in runnable,
                "recoveryModel": spec.recovery_model.value,
                "summary": spec.summary,
                "affectsPods": spec.affects_pods,
                "instantaneous": spec.instantaneous,
                "parameters": [
                    {
                        "name": p.name,
                        "type": p.type,
                        "required": p.required,
                        "default": p.default,
                        "description": p.description,
                    }
                    for p in parameter_info(spec)
                ],
            }
            for spec in specs
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for index, spec in enumerate(specs):
        if index:
            click.echo()
        click.echo(
            f"{spec.injection_type.value}  (danger: {spec.danger.value},"
            f" recovery: {spec.recovery_model.value})"
        )
        click.echo(f"  {spec.summary}")
        params = parameter_info(spec)
        widths = [max(len(p.name) for p in params), max(len(p.type) for p in params)]
        for p in params:
            need = "required" if p.required else f"default {p.default}" if p.default else "optional"
            click.echo(f"    {p.name:<{widths[0]}}  {p.type:<{widths[1]}}  {need}")
            if p.description:
                click.echo(f"    {'':<{widths[0]}}  {p.description}")
    if len(runnable) < len(specs):  # a module without an INJECTOR: validate-only
        click.echo()
        click.echo(f"{len(runnable)} of {len(specs)} types can run; the others only validate.")


@click.command()
@click.option("--indent", type=int, default=2, show_default=True, help="JSON indentation.")
def schema(indent: int) -> None:
    """Print the JSON Schema of ChaosExperiment (for editors such as yaml-language-server).

    Reference it from an experiment file with a first-line comment:
    # yaml-language-server: $schema=./chaosexperiment.schema.json
    """
    import json

    from operator_chaos.load.schema import experiment_schema

    click.echo(json.dumps(experiment_schema(), indent=indent, ensure_ascii=False))


@click.command()
def crd() -> None:
    """Print the ChaosExperiment CustomResourceDefinition (kubectl apply -f -)."""
    from operator_chaos.load.schema import crd_yaml

    click.echo(crd_yaml(), nl=False)
