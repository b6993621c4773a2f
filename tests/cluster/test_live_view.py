"""What a user sees when they press Ctrl-C during a hold, against the real sandbox.

The tool runs as a subprocess with stderr on a pipe (the plain, line-based log CI sees). Once
it says it is holding the fault, it gets SIGINT: it must revert, exit 130, end with one line
that names what it reverted, and store nothing as history (an interrupted run says nothing
about recovery and must never become the next run's baseline).
"""

import asyncio
import re
import signal

from engine_support import (
    BINDING_REF,
    REPO,
    SA_SUBJECT,
    SEEDS,
    PausedRun,
    assert_pristine,
    fault_in_effect,
    leftovers,
    repair,
    settle,
    tool_cmd,
    tool_env,
)

from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube.port import ResourceRef
from operator_chaos.orchestrator import checkpoints

LEDGER_NS = "chaos-live-view-test"
EXPERIMENT = "training-operator-rbac-revoke"
STAMP = re.compile(r"^\[\d\d:\d\d:\d\d +\+\d+\.\ds\] ")


async def stored_results(kube) -> list[str]:
    listed = await kube.list(
        "v1", "ConfigMap", LEDGER_NS, label_selector="chaos.operatorchaos.io/role=result"
    )
    return [cm["metadata"]["name"] for cm in listed.items]


async def forget_results(kube) -> None:
    for name in await stored_results(kube):
        await kube.delete(ResourceRef("v1", "ConfigMap", name, LEDGER_NS))


async def test_ctrl_c_during_the_hold_names_what_was_reverted_and_stores_no_history(kube, sandbox):
    await settle(kube)
    await assert_pristine(kube)
    await forget_results(kube)
    proc = await asyncio.create_subprocess_exec(
        *tool_cmd(
            sandbox.kubeconfig,
            [
                "run",
                str(SEEDS["RBACRevoke"]),
                "--hold",
                "30s",
                "--stability",
                "1s",
                "--ledger-namespace",
                LEDGER_NS,
            ],
        ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=tool_env(),
        cwd=str(REPO),
    )
    seen: list[str] = []
    try:
        assert proc.stderr is not None

        async def until_holding() -> None:
            assert proc.stderr is not None
            while True:
                raw = await proc.stderr.readline()
                assert raw, "the tool ended before holding:\n" + "".join(seen)
                seen.append(raw.decode())
                if "holding the fault for 30s" in seen[-1]:
                    return

        await asyncio.wait_for(until_holding(), 90)
        assert await fault_in_effect(kube, "RBACRevoke")

        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
        await repair(kube, sandbox.kubeconfig)
        raise
    stderr = "".join(seen) + err.decode()
    assert proc.returncode == int(ExitStatus.INTERRUPTED), stderr

    lines = [line for line in stderr.splitlines() if line.strip()]
    # Every progress line carries the wall clock and the seconds since the start.
    progress = [line for line in lines if f"{EXPERIMENT}: " in line and "phase " in line]
    assert progress, stderr
    assert all(STAMP.match(line) for line in progress), progress
    # The last word says what was reverted, naming the experiment and the binding.
    last = lines[-1]
    assert last.startswith(f"interrupted: reverted {EXPERIMENT}: "), stderr
    assert "training-operator-manager-rolebinding" in last, last
    assert "Verdict" in out.decode()  # the verdict table still goes to stdout

    # Reverted by the tool on its way out; nothing left behind; no history stored.
    assert not await fault_in_effect(kube, "RBACRevoke")
    assert (await kube.get(BINDING_REF)).get("subjects") == [SA_SUBJECT]
    assert await leftovers(kube, LEDGER_NS) == []
    assert await stored_results(kube) == []


async def test_ctrl_c_during_the_revert_is_still_an_interruption(kube, sandbox):
    """The revert is shielded from Ctrl-C (it must finish), but the run must not then carry
    on to a verdict that is stored as history as if nobody had pressed Ctrl-C."""
    await settle(kube)
    await assert_pristine(kube)
    await forget_results(kube)
    paused = await PausedRun.start(
        sandbox.kubeconfig,
        "reverting",
        "run",
        str(SEEDS["RBACRevoke"]),
        "--hold",
        "1s",
        "--stability",
        "1s",
        "--ledger-namespace",
        LEDGER_NS,
    )
    try:
        paused.proc.send_signal(signal.SIGINT)  # arrives while the revert waits at the pause
        await asyncio.sleep(0.5)
        paused.proc.send_signal(checkpoints.RESUME)
        rc = await asyncio.wait_for(paused._finish(), 90)
    except BaseException:
        await paused.kill()
        await repair(kube, sandbox.kubeconfig)
        raise
    assert rc == int(ExitStatus.INTERRUPTED), paused.stderr
    assert (
        paused.stderr.rstrip().splitlines()[-1].startswith(f"interrupted: reverted {EXPERIMENT}: ")
    ), paused.stderr
    assert not await fault_in_effect(kube, "RBACRevoke")
    assert await leftovers(kube, LEDGER_NS) == []
    assert await stored_results(kube) == []
