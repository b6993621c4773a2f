"""``-n/--namespace`` as kubectl means it: the namespace of the objects a command works on.

``run``/``suite``/``preflight`` work on the experiments' targets: ``-n`` places experiments
that name no namespace and refuses those that name another. ``clean``/``results`` work on the
ledgers and stored results: there ``-n`` is the ledger namespace. All of it is decided before
the cluster is contacted, so no cluster is needed.
"""

from pathlib import Path

import pytest
import yaml

from operator_chaos.cli import common
from operator_chaos.cli.app import main
from operator_chaos.cli.scaffold import skeleton
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.injection import registry
from operator_chaos.load.experiments import load_file
from operator_chaos.orchestrator.lifecycle import resolve_namespace


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = int(main(args) or 0)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def experiment(directory: Path, name: str, namespace: str | None) -> Path:
    document = yaml.safe_load(skeleton("PodKill", "ctl", "op", "op-system"))
    document["metadata"]["name"] = name
    if namespace is not None:
        document["metadata"]["namespace"] = namespace
    document["spec"]["hypothesis"]["description"] = "The operator replaces the pod."
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_namespace_places_experiments_that_name_none(tmp_path: Path) -> None:
    bare = load_file(experiment(tmp_path, "bare", None))
    same = load_file(experiment(tmp_path, "same", "team-a"))
    placed = common.in_namespace(bare + same, "team-a")
    assert [i.experiment.metadata.namespace for i in placed] == ["team-a", "team-a"]
    # Where the fault acts: -n, ahead of the blast radius's first allowed namespace.
    params = registry.parse_params(placed[0].experiment.spec)
    assert resolve_namespace(placed[0], params) == "team-a"
    assert resolve_namespace(bare[0], params) == "op-system"
    assert common.in_namespace(bare, None) == bare


@pytest.mark.parametrize("command", ["run", "preflight"])
def test_namespace_clash_is_invalid_input_before_any_cluster(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = experiment(tmp_path, "elsewhere", "team-b")
    # No kubeconfig anywhere: reaching the cluster step would be another error.
    code, out, err = cli(
        [command, str(path), "-n", "team-a", "--kubeconfig", "/nonexistent"], capsys
    )
    assert code == ExitStatus.INVALID, err
    assert "--namespace team-a: these experiments name another namespace" in err
    assert "elsewhere: team-b" in err
    assert out == ""


def test_namespace_must_be_a_namespace_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = experiment(tmp_path, "bare", None)
    code, _, err = cli(["run", str(path), "--namespace", "Team_A"], capsys)
    assert code == ExitStatus.USAGE, err
    assert "'Team_A' is not a valid namespace name" in err


@pytest.mark.parametrize("flag", ["-n", "--namespace", "--ledger-namespace"])
def test_clean_namespace_is_the_ledger_namespace(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(["clean", flag, "kube-system"], capsys)
    assert code == ExitStatus.UNSAFE, err
    assert "--ledger-namespace 'kube-system' is a system namespace" in err


@pytest.mark.parametrize("sub", ["list", "show", "report"])
def test_results_take_the_ledger_namespace_as_n(
    sub: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(["results", sub, "--help"], capsys)
    assert code == 0
    assert "-n, --ledger-namespace, --namespace TEXT" in out
