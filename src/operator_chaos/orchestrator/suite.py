"""Many experiments in one go: targets never overlap, groups run in parallel up to a limit,
and the operator gets a cooldown between two experiments on the same target."""

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta

from operator_chaos.kube.port import KubeClient
from operator_chaos.load.experiments import LoadedExperiment
from operator_chaos.orchestrator import events
from operator_chaos.orchestrator.events import Progress, ProgressSink, discard
from operator_chaos.orchestrator.lifecycle import RunOptions, RunOutcome, run_experiment

OptionsFor = Callable[[LoadedExperiment], RunOptions]


def group_by_target(items: Sequence[LoadedExperiment]) -> list[list[LoadedExperiment]]:
    """Experiments on the same operator component, in input order, one group per target."""
    groups: dict[tuple[str, str], list[LoadedExperiment]] = {}
    for item in items:
        target = item.experiment.spec.target
        groups.setdefault((target.operator, target.component), []).append(item)
    return list(groups.values())


async def run_suite(
    kube: KubeClient,
    items: Sequence[LoadedExperiment],
    options_for: OptionsFor,
    *,
    parallel: int = 1,
    cooldown: timedelta = timedelta(seconds=0),
    sink: ProgressSink = discard,
) -> list[RunOutcome]:
    """Run every experiment; the outcomes come back in input order."""
    outcomes: dict[int, RunOutcome] = {}
    index = {id(item): n for n, item in enumerate(items)}
    limit = asyncio.Semaphore(max(1, parallel))

    async def run_group(group: list[LoadedExperiment]) -> None:
        async with limit:
            for n, item in enumerate(group):
                if n and cooldown.total_seconds() > 0:
                    name = item.experiment.metadata.name
                    sink(
                        Progress(
                            name,
                            f"cooldown {cooldown.total_seconds():g}s before the next run",
                            kind=events.COOLDOWN,
                            countdown_s=cooldown.total_seconds(),
                        )
                    )
                    await asyncio.sleep(cooldown.total_seconds())
                outcome = await run_experiment(kube, item, options_for(item), sink)
                outcomes[index[id(item)]] = outcome
                if outcome.interrupted:
                    raise asyncio.CancelledError

    tasks = [asyncio.create_task(run_group(g)) for g in group_by_target(items)]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [outcomes[n] for n in sorted(outcomes)]
