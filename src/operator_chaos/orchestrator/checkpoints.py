"""Named points where a run can be told to stop and wait, so tests can SIGKILL the tool at
an exact moment (e.g. after a rollback record is written but before the fault is applied).

Set ``OPERATOR_CHAOS_PAUSE_AT`` to a comma-separated list of names: ``injecting:recorded``,
``holding``, ``observing``. The run prints ``paused at <name>`` and waits until it is killed.
Unset (the default), checkpoints cost one dictionary lookup.
"""

import asyncio
import os
import sys

NAMES = ("injecting:recorded", "holding", "observing")


async def reach(name: str) -> None:
    """Pause forever here when asked to by the environment."""
    wanted = os.environ.get("OPERATOR_CHAOS_PAUSE_AT", "")
    if name in wanted.split(","):
        print(f"paused at {name}", file=sys.stderr, flush=True)
        await asyncio.Event().wait()
