"""Stored results on the real sandbox: history, the ``results`` commands, ``--set``, retention.

Each run of the tool (a subprocess) stores its result as ConfigMap ``chaos-result-<run>`` in
the ledger namespace; these tests use a namespace of their own so the counts are theirs alone.
The quick PodKill seed (``--stability 1s``) is the experiment throughout.
"""

import json
from xml.etree import ElementTree

import pytest
from engine_support import SEEDS, PausedRun, repair, run_tool, settle

from operator_chaos.kube.port import ResourceRef

EXPERIMENT = "training-operator-pod-kill"
LEDGER_NS = "chaos-results-test"
QUICK = ("--stability", "1s", "--ledger-namespace", LEDGER_NS)
SELECTOR = f"chaos.operatorchaos.io/role=result,chaos.operatorchaos.io/experiment={EXPERIMENT}"


async def stored_configmaps(kube):
    listed = await kube.list("v1", "ConfigMap", LEDGER_NS, label_selector=SELECTOR)
    return sorted(listed.items, key=lambda cm: cm["metadata"]["name"])


async def forget_results(kube):
    for cm in await stored_configmaps(kube):
        await kube.delete(ResourceRef("v1", "ConfigMap", cm["metadata"]["name"], LEDGER_NS))


@pytest.fixture(scope="module")
async def runs(kube, sandbox):
    """Two plain runs of the PodKill seed, from an empty history; the run ids, oldest first."""
    await settle(kube)
    await forget_results(kube)
    ids = [(await pod_kill(kube, sandbox))["runId"] for _ in range(2)]
    yield ids
    await forget_results(kube)
    await repair(kube, sandbox.kubeconfig)


async def pod_kill(kube, sandbox, *extra, env=None):
    """One Resilient run of the seed; its JSON result."""
    await settle(kube)
    result = await run_tool(
        sandbox.kubeconfig,
        "run",
        str(SEEDS["PodKill"]),
        *QUICK,
        *extra,
        "--format",
        "json",
        env=env,
    )
    assert result.rc == 0, result.describe()
    report = result.report()
    assert report["verdict"] == "Resilient"
    return report


def history_events(report):
    return [e["message"] for e in report["events"] if e["action"] == "history"]


async def results_cmd(sandbox, *args):
    result = await run_tool(sandbox.kubeconfig, "results", *args, "--ledger-namespace", LEDGER_NS)
    assert result.rc == 0, result.describe()
    return result


async def test_each_run_is_stored_compactly_and_compared_with_the_last(kube, sandbox, runs):
    first, second = runs
    cms = await stored_configmaps(kube)
    assert [cm["metadata"]["name"] for cm in cms] == [
        f"chaos-result-{first}",
        f"chaos-result-{second}",
    ]
    for cm in cms:
        assert "data" not in cm
        assert list(cm["binaryData"]) == ["result.json.gz"]
        notes = cm["metadata"]["annotations"]
        assert notes["chaos.operatorchaos.io/phase"] == "Complete"
        assert notes["chaos.operatorchaos.io/recovery-ms"].isdigit()
        assert cm["metadata"]["labels"]["chaos.operatorchaos.io/verdict"] == "Resilient"
    hashes = {cm["metadata"]["labels"]["chaos.operatorchaos.io/spec-hash"] for cm in cms}
    assert len(hashes) == 1

    shown = json.loads((await results_cmd(sandbox, "show", second, "-o", "json")).stdout)
    (comparison,) = history_events(shown)
    assert comparison.startswith(f"previous run {first}: Resilient, recovery ")


async def test_results_list_shows_both_runs(sandbox, runs):
    first, second = runs
    listed = json.loads(
        (await results_cmd(sandbox, "list", "--experiment", EXPERIMENT, "-o", "json")).stdout
    )
    assert [row["runId"] for row in listed] == [first, second]
    for row in listed:
        assert row["experiment"] == EXPERIMENT
        assert row["verdict"] == "Resilient"
        assert row["phase"] == "Complete"
        assert isinstance(row["recoveryMs"], int)
        assert row["injectionType"] == "PodKill"

    table = (await results_cmd(sandbox, "list")).stdout.splitlines()
    assert table[0].split()[:3] == ["Run", "ID", "Experiment"]
    rows = [line.split() for line in table[2:] if line.strip() and not line.endswith("runs")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (first, EXPERIMENT, "Resilient"),
        (second, EXPERIMENT, "Resilient"),
    ]


async def test_results_show_prints_one_stored_run(sandbox, runs):
    _, second = runs
    text = (await results_cmd(sandbox, "show", second)).stdout
    assert text.startswith(f"{EXPERIMENT}: Resilient\n")
    assert f"Run ID:      {second}" in text
    assert "Type:        PodKill" in text
    assert "Recovery:\n  recovered: yes, in " in text

    missing = await run_tool(
        sandbox.kubeconfig, "results", "show", "no-such-run", "--ledger-namespace", LEDGER_NS
    )
    assert missing.rc == 1
    assert missing.error_lines() == [
        f"error: no stored result for run 'no-such-run' in namespace '{LEDGER_NS}'"
        " (see `operator-chaos results list`)"
    ]


async def test_results_report_renders_stored_runs_in_every_format(sandbox, runs, tmp_path):
    first, second = runs
    rendered = {}
    for fmt in ("json", "junit", "markdown", "html"):
        out = tmp_path / f"report.{fmt}"
        await results_cmd(sandbox, "report", first, second, "--format", fmt, "-o", str(out))
        rendered[fmt] = out.read_text()

    suite = json.loads(rendered["json"])
    assert [r["runId"] for r in suite["results"]] == [first, second]
    assert all(r["verdict"] == "Resilient" for r in suite["results"])
    cases = list(ElementTree.fromstring(rendered["junit"]).iter("testcase"))
    assert len(cases) == 2
    assert all(case.find("failure") is None for case in cases)
    for fmt in ("markdown", "html"):
        assert first in rendered[fmt]
        assert second in rendered[fmt]
    assert rendered["html"].lstrip().lower().startswith("<!doctype html>")

    by_experiment = await results_cmd(
        sandbox, "report", "--experiment", EXPERIMENT, "--format", "json"
    )
    assert [r["runId"] for r in json.loads(by_experiment.stdout)["results"]] == [first, second]


async def test_a_run_with_set_overrides_compares_only_with_its_own_history(kube, sandbox, runs):
    override = ("--set", "spec.hypothesis.recoveryTimeout=90s")

    first_variant = await pod_kill(kube, sandbox, *override)
    assert history_events(first_variant) == []  # the plain runs are another experiment
    second_variant = await pod_kill(kube, sandbox, *override)
    (comparison,) = history_events(second_variant)
    assert comparison.startswith(f"previous run {first_variant['runId']}: Resilient")

    plain = await pod_kill(kube, sandbox)
    (comparison,) = history_events(plain)
    assert comparison.startswith(f"previous run {runs[1]}: Resilient")

    listed = json.loads(
        (await results_cmd(sandbox, "list", "--experiment", EXPERIMENT, "-o", "json")).stdout
    )
    hashes = {row["runId"]: row["specHash"] for row in listed}
    assert hashes[first_variant["runId"]] == hashes[second_variant["runId"]]
    assert hashes[first_variant["runId"]] != hashes[plain["runId"]]
    assert hashes[plain["runId"]] == hashes[runs[0]]


async def test_an_interrupted_run_is_not_history(kube, sandbox, runs):
    await settle(kube)
    before = [cm["metadata"]["name"] for cm in await stored_configmaps(kube)]
    paused = await PausedRun.start(
        sandbox.kubeconfig, "observing", "run", str(SEEDS["PodKill"]), *QUICK
    )
    assert await paused.interrupt() == 130, paused.stderr
    assert [cm["metadata"]["name"] for cm in await stored_configmaps(kube)] == before

    after = await pod_kill(kube, sandbox)
    (comparison,) = history_events(after)
    assert "Inconclusive" not in comparison
    assert comparison.startswith("previous run ")
    assert comparison.split()[2].rstrip(":") in [n.removeprefix("chaos-result-") for n in before]


async def test_retention_keeps_the_newest_results_per_experiment(kube, sandbox, runs):
    count = len(await stored_configmaps(kube))
    assert count >= 2

    kept_two = await pod_kill(kube, sandbox, env={"OPERATOR_CHAOS_KEEP_RESULTS": "2"})
    names = [cm["metadata"]["name"] for cm in await stored_configmaps(kube)]
    assert len(names) == 2
    assert f"chaos-result-{kept_two['runId']}" in names

    kept_one = await pod_kill(kube, sandbox, "--keep-results", "1")
    cms = await stored_configmaps(kube)
    assert [cm["metadata"]["name"] for cm in cms] == [f"chaos-result-{kept_one['runId']}"]
    listed = json.loads((await results_cmd(sandbox, "list", "-o", "json")).stdout)
    assert [row["runId"] for row in listed if row["experiment"] == EXPERIMENT] == [
        kept_one["runId"]
    ]
