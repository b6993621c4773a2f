"""Named points where a run can be told to stop and wait, so tests can act at an exact moment:
SIGKILL the tool after a rollback record is written but before the fault is applied, delete
its ledger while it holds the fault, stop the API server just before it reverts.

Set ``OPERATOR_CHAOS_PAUSE_AT`` to a comma-separated list of names: ``injecting:recorded``,
``holding``, ``reverting`` (right before the revert, only when something is left to revert),
``observing``. The run prints ``paused at <name>`` and waits until it is killed, or until it
receives SIGUSR1: then it prints ``resumed at <name>`` and carries on. Each name pauses at most
once per process. Unset (the default), checkpoints cost one dictionary lookup.
"""

import asyncio
import contextlib
import os
import signal
import sys

NAMES = ("injecting:recorded", "holding", "reverting", "observing")
RESUME = signal.SIGUSR1
_passed: set[str] = set()


async def reach(name: str) -> None:
    """Pause here when asked to by the environment (until SIGUSR1 or the end)."""
    wanted = os.environ.get("OPERATOR_CHAOS_PAUSE_AT", "")
    if name not in wanted.split(",") or name in _passed:
        return
    _passed.add(name)
    resume = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(RESUME, resume.set)  # main thread only
        handled = True
    print(f"paused at {name}", file=sys.stderr, flush=True)
    try:
        await resume.wait()
    finally:
        if handled:
            loop.remove_signal_handler(RESUME)
    print(f"resumed at {name}", file=sys.stderr, flush=True)
