"""``operator-chaos completion``: click's scripts, and the custom completions they call back."""

from pathlib import Path

import pytest
from click.shell_completion import get_completion_class

from operator_chaos.cli.app import cli, main
from operator_chaos.cli.completion import COMPLETE_VAR, PROG


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "_OPERATOR_CHAOS_COMPLETE=bash_complete"),
        ("zsh", "_OPERATOR_CHAOS_COMPLETE=zsh_complete"),
        ("fish", "_OPERATOR_CHAOS_COMPLETE=fish_complete"),
    ],
)
def test_script_for_each_shell(shell: str, marker: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["completion", shell])
    out = capsys.readouterr().out
    assert marker in out
    assert "operator-chaos" in out


def test_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["completion", "tcsh"])
    assert info.value.code == 2
    assert "tcsh" in capsys.readouterr().err


def complete(args: list[str], incomplete: str) -> list[str]:
    """What the shell would be offered for ``operator-chaos ARGS INCOMPLETE<TAB>``."""
    cls = get_completion_class("bash")
    assert cls is not None
    return [c.value for c in cls(cli, {}, PROG, COMPLETE_VAR).get_completions(args, incomplete)]


def test_init_type_completes_injection_type_names() -> None:
    assert complete(["init", "--type"], "Pod") == ["PodKill"]
    assert complete(["init", "--type"], "webhook") == ["WebhookDisrupt", "WebhookLatency"]
    assert len(complete(["init", "--type"], "")) == 20


@pytest.mark.parametrize("command", ["run", "validate", "preflight"])
def test_experiment_arguments_complete_yaml_files_and_directories(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exps").mkdir()
    for name in ("pod-kill.yaml", "drift.yml", "notes.txt", ".hidden.yaml"):
        (tmp_path / "exps" / name).write_text("")
    (tmp_path / "exps" / "nested").mkdir()
    monkeypatch.chdir(tmp_path)
    assert complete([command], "ex") == ["exps/"]
    assert complete([command], "exps/") == ["exps/drift.yml", "exps/nested/", "exps/pod-kill.yaml"]
    assert complete([command, "exps/drift.yml"], "exps/p") == ["exps/pod-kill.yaml"]


def test_suite_completes_directories_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exps" / "nested").mkdir(parents=True)
    (tmp_path / "exps" / "pod-kill.yaml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert complete(["suite"], "e") == ["exps/"]
    assert complete(["suite"], "exps/") == ["exps/nested/"]
