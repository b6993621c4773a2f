"""The safety gate, the per-target lock and Ctrl-C, on the real cluster.

Refusals happen before any change: every touched object and every object in the tool
namespace keeps its resourceVersion, no ledger is written, and the process exits with the
documented code (UNSAFE=4 from the gate, INVALID=3 where the loader refuses first) and one
``error:`` line that says what to change. Namespace objects, the tool's own ledgers and a
system ``--ledger-namespace`` are refused the same way.
"""

import asyncio
import dataclasses

import pytest
import yaml
from engine_support import (
    HOLDING_TYPES,
    QUICK,
    SEEDS,
    TOOL_NS,
    PausedRun,
    assert_pristine,
    diff,
    fault_in_effect,
    ledgers,
    leftovers,
    parse_time,
    repair,
    resource_versions,
    result_configmap,
    run_tool,
    settle,
    snapshot,
    tool_objects,
)

from operator_chaos.errors import SafetyViolation
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.kube.port import ResourceRef
from operator_chaos.load.experiments import load_file
from operator_chaos.orchestrator.lifecycle import RunOptions, run_experiment


@pytest.fixture
async def steady(kube, sandbox):
    await settle(kube)
    await assert_pristine(kube)
    yield
    await repair(kube, sandbox.kubeconfig)


async def refused(kube, sandbox, seed, *overrides, status, message):
    """Run ``seed`` with ``--set overrides``; assert it is refused and nothing changed."""
    before = await resource_versions(kube)
    args = [a for o in overrides for a in ("--set", o)]
    result = await run_tool(sandbox.kubeconfig, "run", str(SEEDS[seed]), *args, *QUICK)
    assert result.rc == int(status), result.describe()
    errors = result.error_lines()
    assert len(errors) == 1, result.describe()
    assert message in errors[0], result.describe()
    assert await ledgers(kube) == []
    assert await resource_versions(kube) == before
    return errors[0]


@pytest.mark.parametrize("seed", ["PodKill", "NetworkPartition", "FinalizerBlock"])
async def test_namespace_outside_allowed_namespaces_is_refused(seed, kube, sandbox, steady):
    await refused(
        kube,
        sandbox,
        seed,
        "metadata.namespace=opendatahub",
        "spec.blastRadius.allowedNamespaces=[default]",
        status=ExitStatus.UNSAFE,
        message="namespace 'opendatahub' is outside spec.blastRadius.allowedNamespaces (default)",
    )


@pytest.mark.parametrize("seed", ["PodKill", "NetworkPartition"])
async def test_kube_system_needs_allow_dangerous(seed, kube, sandbox, steady):
    await refused(
        kube,
        sandbox,
        seed,
        "metadata.namespace=kube-system",
        "spec.blastRadius.allowedNamespaces=[kube-system]",
        status=ExitStatus.UNSAFE,
        message="namespace 'kube-system' is protected",
    )


@pytest.mark.parametrize("seed", ["PodKill", "NetworkPartition"])
async def test_selector_wider_than_max_pods_affected_is_refused(seed, kube, sandbox, steady):
    # Matches the PyTorchJob's master and worker pods: two pods, maxPodsAffected is 1.
    line = await refused(
        kube,
        sandbox,
        seed,
        "spec.injection.parameters.labelSelector=training.kubeflow.org/job-name=test-pytorchjob",
        status=ExitStatus.UNSAFE,
        message=f"{seed} would affect 2 pods but spec.blastRadius.maxPodsAffected is 1",
    )
    assert "narrow the labelSelector or raise the limit" in line


@pytest.mark.parametrize(
    ("seed", "override", "message"),
    [
        (
            "RBACRevoke",
            "spec.blastRadius.allowDangerous=false",
            "spec.blastRadius.allowDangerous: RBACRevoke is a high-danger fault",
        ),
        (
            "WebhookDisrupt",
            "spec.blastRadius.allowDangerous=false",
            "spec.blastRadius.allowDangerous: WebhookDisrupt is a high-danger fault",
        ),
        (
            "PodKill",
            "spec.injection.dangerLevel=high",
            "spec.blastRadius.allowDangerous: dangerLevel is high",
        ),
    ],
)
async def test_high_danger_without_allow_dangerous_is_refused_by_the_loader(
    seed, override, message, kube, sandbox, steady
):
    line = await refused(kube, sandbox, seed, override, status=ExitStatus.INVALID, message=message)
    assert f"{SEEDS[seed]}:" in line  # file:line:column of the offending field


async def test_lifecycle_gate_refuses_high_danger_even_past_the_loader(kube, sandbox, steady):
    """Defence in depth: an experiment object that bypassed the loader is still refused."""
    (loaded,) = load_file(SEEDS["RBACRevoke"])
    spec = loaded.experiment.spec
    unsafe = loaded.experiment.model_copy(
        update={
            "spec": spec.model_copy(
                update={
                    "blast_radius": spec.blast_radius.model_copy(update={"allow_dangerous": False})
                }
            )
        }
    )
    before = await resource_versions(kube)

    outcome = await run_experiment(
        kube, dataclasses.replace(loaded, experiment=unsafe), RunOptions()
    )

    assert isinstance(outcome.error, SafetyViolation), outcome
    assert outcome.error.exit_status is ExitStatus.UNSAFE
    assert "RBACRevoke is high danger" in str(outcome.error)
    assert outcome.result.phase.value == "Aborted"
    assert outcome.result.injection is None
    assert await result_configmap(kube, outcome.result.run_id) is None
    assert await ledgers(kube) == []
    assert await resource_versions(kube) == before


async def test_concurrent_runs_on_one_target_one_is_locked_out(kube, sandbox, steady):
    before = await snapshot(kube)
    args = ("run", str(SEEDS["NetworkPartition"]), "--hold", "3s", "--stability", "1s")

    first, second = await asyncio.gather(
        run_tool(sandbox.kubeconfig, *args, "--format", "json"),
        run_tool(sandbox.kubeconfig, *args, "--format", "json"),
    )

    by_rc = {first.rc: first, second.rc: second}
    assert sorted(by_rc) == [0, int(ExitStatus.LOCKED)], (first.describe(), second.describe())
    winner, loser = by_rc[0], by_rc[int(ExitStatus.LOCKED)]
    holder = winner.report()["runId"]
    assert winner.report()["verdict"] == "Resilient"
    errors = loser.error_lines()
    assert len(errors) == 1, loser.describe()
    assert f"target is locked by run {holder} (Lease operator-chaos/chaos-lock-" in errors[0]
    # Refused fast: at once, while the winner was still holding its fault, not after it.
    lost = loser.report()
    holding = next(p for p in winner.report()["phases"] if p["phase"] == "Holding")
    assert parse_time(lost["endedAt"]) < parse_time(holding["endedAt"]), (lost, holding)
    assert lost["durationMs"] < 2000, lost["durationMs"]
    assert lost["injection"]["injectedAt"] is None
    assert lost["injection"]["confirmations"] == []
    assert lost["revert"] is None
    assert await leftovers(kube) == []
    await settle(kube)
    after = await snapshot(kube)
    assert after == before, diff(before, after)


@pytest.mark.parametrize("injection", HOLDING_TYPES)
async def test_ctrl_c_while_holding_reverts_and_exits_130(injection, kube, sandbox, steady):
    before = await snapshot(kube)
    paused = await PausedRun.start(
        sandbox.kubeconfig, "holding", "run", str(SEEDS[injection]), *QUICK
    )
    assert await fault_in_effect(kube, injection)

    rc = await paused.interrupt()

    assert rc == int(ExitStatus.INTERRUPTED), paused.stderr
    # Reverted by the tool itself on its way out, not by anybody's clean.
    assert not await fault_in_effect(kube, injection), paused.stderr
    assert await leftovers(kube) == []
    assert "phase Aborted" in paused.stderr
    await settle(kube)
    after = await snapshot(kube)
    assert after == before, diff(before, after)
    again = await run_tool(sandbox.kubeconfig, "clean")
    assert again.stdout.strip() == "nothing to clean"


async def test_tool_namespace_is_never_a_target(kube, sandbox, steady):
    """The tool's own namespace (ledgers, leases) is no target, not even with allowDangerous."""
    await refused(
        kube,
        sandbox,
        "PodKill",
        "metadata.namespace=operator-chaos",
        "spec.blastRadius.allowedNamespaces=[operator-chaos]",
        "spec.blastRadius.allowDangerous=true",
        status=ExitStatus.UNSAFE,
        message="namespace 'operator-chaos' is the tool's own (ledgers, leases, results): it is"
        " never a target, not even with allowDangerous",
    )


def experiment_file(tmp_path, name, injection, allowed, *, dangerous=False):
    """A one-off experiment against the scenario's steady state."""
    doc = yaml.safe_load(SEEDS["PodKill"].read_text())
    doc["metadata"]["name"] = name
    doc["spec"]["injection"] = {"ttl": "60s", **injection}
    doc["spec"]["blastRadius"] = {
        "maxPodsAffected": 1,
        "allowedNamespaces": allowed,
        "allowDangerous": dangerous,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


KUBE_SYSTEM = ResourceRef("v1", "Namespace", "kube-system")
STOMP_KUBE_SYSTEM = {
    "type": "LabelStomping",
    "parameters": {
        "apiVersion": "v1",
        "kind": "Namespace",
        "name": "kube-system",
        "labelKey": "team",
        "action": "overwrite",
    },
}


@pytest.mark.parametrize(
    ("allowed", "message"),
    [
        (
            ["opendatahub"],
            "namespace 'kube-system' is outside spec.blastRadius.allowedNamespaces (opendatahub)",
        ),
        (["opendatahub", "kube-system"], "namespace 'kube-system' is protected"),
    ],
)
async def test_label_stomping_the_kube_system_namespace_is_refused(
    allowed, message, kube, sandbox, steady, tmp_path
):
    path = experiment_file(tmp_path, "stomp-kube-system", STOMP_KUBE_SYSTEM, allowed)
    before = await resource_versions(kube)
    namespace_before = (await kube.get(KUBE_SYSTEM))["metadata"]

    for args in (("run", str(path), *QUICK), ("run", str(path), "--dry-run")):
        result = await run_tool(sandbox.kubeconfig, *args)
        assert result.rc == int(ExitStatus.UNSAFE), result.describe()
        (line,) = result.error_lines()
        assert message in line, result.describe()

    after = (await kube.get(KUBE_SYSTEM))["metadata"]
    assert after["resourceVersion"] == namespace_before["resourceVersion"]
    assert after.get("labels") == namespace_before.get("labels")
    assert await ledgers(kube) == []
    assert await resource_versions(kube) == before


async def test_config_drift_on_a_live_runs_ledger_is_refused_even_with_allow_dangerous(
    kube, sandbox, steady, tmp_path
):
    """A ledger is what reverts a live run: no experiment may touch it, whatever it says."""
    paused = await PausedRun.start(
        sandbox.kubeconfig, "holding", "run", str(SEEDS["NetworkPartition"]), *QUICK
    )
    try:
        (ledger,) = await ledgers(kube)
        ledger_name = ledger["metadata"]["name"]
        ledger_ref = ResourceRef("v1", "ConfigMap", ledger_name, TOOL_NS)
        ledger_before = await kube.get(ledger_ref)
        path = experiment_file(
            tmp_path,
            "drift-the-ledger",
            {
                "type": "ConfigDrift",
                "dangerLevel": "high",
                "parameters": {
                    "name": ledger_name,
                    "namespace": TOOL_NS,
                    "key": "run.json",
                    "value": "{}",
                },
            },
            ["opendatahub", TOOL_NS],
            dangerous=True,
        )
        result = await run_tool(sandbox.kubeconfig, "run", str(path), *QUICK)
        assert result.rc == int(ExitStatus.UNSAFE), result.describe()
        (line,) = result.error_lines()
        assert f"ConfigMap {TOOL_NS}/{ledger_name} is in the tool namespace" in line
        assert "never a target, not even with allowDangerous" in line
        after = await kube.get(ledger_ref)
        assert after["metadata"]["resourceVersion"] == ledger_before["metadata"]["resourceVersion"]
        assert after["data"] == ledger_before["data"]
    finally:
        rc = await paused.interrupt()
    # The run whose ledger it was still reverts cleanly.
    assert rc == int(ExitStatus.INTERRUPTED), paused.stderr
    assert not await fault_in_effect(kube, "NetworkPartition")
    assert await leftovers(kube) == []


async def test_a_system_ledger_namespace_is_refused(kube, sandbox, steady):
    def in_kube_system(objects):
        return sorted(k for k in objects if "chaos-" in k)

    before = await resource_versions(kube)
    system_before = in_kube_system(await tool_objects(kube, "kube-system"))
    for args in (
        ("run", str(SEEDS["PodKill"]), *QUICK),
        ("run", str(SEEDS["PodKill"]), "--dry-run"),
    ):
        result = await run_tool(sandbox.kubeconfig, *args, "--ledger-namespace", "kube-system")
        assert result.rc == int(ExitStatus.UNSAFE), result.describe()
        (line,) = result.error_lines()
        assert line.endswith(
            "--ledger-namespace 'kube-system' is a system namespace: keep the tool's ledgers,"
            " leases and results in a namespace of their own (default operator-chaos)"
        ), result.describe()
    assert in_kube_system(await tool_objects(kube, "kube-system")) == system_before
    assert await resource_versions(kube) == before
