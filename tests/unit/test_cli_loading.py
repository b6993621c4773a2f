"""validate, init, types, schema and crd from the command line: exit codes and output shape."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from operator_chaos.api.v1alpha1 import InjectionType
from operator_chaos.cli.app import main
from operator_chaos.exitcodes import ExitStatus

DATA = Path(__file__).parents[1] / "data"
VALID = DATA / "valid" / "pod-kill.yaml"
INVALID = DATA / "invalid"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process like the console script does; return (exit code, out, err)."""
    try:
        result = main(args)
        code = int(result or 0)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(VALID)], capsys)
    assert code == ExitStatus.OK
    assert out == f"ok {VALID} (sample-pod-kill)\n"


def test_validate_reports_problems_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    bad = INVALID / "tier-out-of-range.yaml"
    code, out, err = run(["validate", str(VALID), str(bad)], capsys)
    assert code == ExitStatus.INVALID
    lines = out.splitlines()
    assert lines[0].startswith("ok ")
    assert lines[1].startswith(f"{bad}:7:3: spec.tier: must be at most 6")
    assert err == "error: 1 of 2 files failed validation\n"


def test_validate_directory_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", "--output", "json", str(INVALID)], capsys)
    assert code == ExitStatus.INVALID
    report = json.loads(out)
    assert report["ok"] is False
    assert len(report["files"]) == len(list(INVALID.glob("*.yaml")))
    first = report["files"][0]
    assert set(first) == {"path", "ok", "names", "problems"}
    assert set(first["problems"][0]) == {"line", "column", "field", "message"}


def test_validate_missing_path_and_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["validate", str(tmp_path / "nope.yaml"), str(tmp_path)], capsys)
    assert code == ExitStatus.INVALID
    assert "file not found" in out
    assert "no .yaml or .yml files" in out


def test_validate_refuses_knowledge_file_naming_its_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("kind: OperatorKnowledge\noperator: {name: x}\n")
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == ExitStatus.INVALID
    assert "kind 'OperatorKnowledge' is not a ChaosExperiment" in out


def test_validate_knowledge_flag_uses_the_knowledge_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("operator_chaos.knowledge.loader")
    code, out, _ = run(["validate", "--knowledge", str(VALID)], capsys)
    assert code == ExitStatus.INVALID
    assert out.startswith(f"{VALID}:")


@pytest.mark.parametrize("injection_type", [t.value for t in InjectionType])
def test_init_skeleton_validates_once_its_to_dos_are_done(
    injection_type: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "experiment.yaml"
    args = ["init", "--type", injection_type, "--component", "my-controller", "--operator", "my-op"]
    code, _, err = run([*args, "-o", str(target)], capsys)
    assert code == ExitStatus.OK, err
    assert "to do before it validates: " in err
    # As written, validate lists exactly the to-dos: the hypothesis (and the opt-in).
    code, out, _ = run(["validate", str(target)], capsys)
    assert code == ExitStatus.INVALID
    fields = sorted(line.split(": ")[1] for line in out.splitlines())
    high = yaml.safe_load(target.read_text())["spec"]["blastRadius"].get("allowDangerous")
    expected = ["spec.hypothesis.description"]
    if high is not None:
        expected.insert(0, "spec.blastRadius.allowDangerous")
    assert fields == expected, out
    text = target.read_text().replace("TODO: what", "What")
    target.write_text(text.replace("allowDangerous: false", "allowDangerous: true"))
    code, out, _ = run(["validate", str(target)], capsys)
    assert code == ExitStatus.OK, out
    document = yaml.safe_load(target.read_text())
    assert document["spec"]["injection"]["type"] == injection_type
    assert document["spec"]["blastRadius"]["allowedNamespaces"] == ["my-op"]


def test_init_leaves_the_high_danger_opt_in_to_the_user(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["init", "--type", "rbacrevoke", "--component", "c", "--operator", "o"]
    code, out, err = run([*args, "--namespace", "ns"], capsys)
    assert code == ExitStatus.OK
    assert yaml.safe_load(out)["spec"]["blastRadius"]["allowDangerous"] is False
    assert "# opt in by setting this to true" in out
    assert "to do before it validates: spec.blastRadius.allowDangerous," in err
    code, out, _ = run(["init", "--type", "PodKill", "--component", "c", "--operator", "o"], capsys)
    assert "allowDangerous" not in out


def test_validate_refuses_placeholder_hypotheses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for marker in ("TODO", "FIXME", "TBD"):
        path = tmp_path / f"{marker}.yaml"
        path.write_text(
            VALID.read_text().replace("      The controller", f"      {marker} The controller", 1)
        )
        code, out, _ = run(["validate", str(path)], capsys)
        assert code == ExitStatus.INVALID, marker
        assert f"spec.hypothesis.description: is still a placeholder ({marker}): write" in out
    path = tmp_path / "words.yaml"  # the words inside other words are no markers
    path.write_text(
        VALID.read_text().replace("      The controller", "      TODOS TBDX The controller", 1)
    )
    assert run(["validate", str(path)], capsys)[0] == ExitStatus.OK


def test_init_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["init", "--type", "Nope", "--component", "c", "--operator", "o"], capsys)
    assert code == ExitStatus.USAGE
    assert "known types" in err
    code, _, err = run(
        ["init", "--type", "PodKill", "--component", "Bad Name", "--operator", "o"], capsys
    )
    assert code == ExitStatus.USAGE
    assert "spec.target.component" in err
    existing = tmp_path / "x.yaml"
    existing.write_text("keep me")
    args = ["init", "--type", "PodKill", "--component", "c", "--operator", "o", "-o", str(existing)]
    code, _, err = run(args, capsys)
    assert code == ExitStatus.USAGE
    assert "--force" in err
    assert existing.read_text() == "keep me"


def test_types_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["types"], capsys)
    assert code == ExitStatus.OK
    assert "PodKill  (danger: low, recovery: repair)" in out
    assert "SecretDeletion  (danger: high, recovery: repair)" in out
    assert "NetworkPartition  (danger: medium, recovery: condition)" in out
    assert "only validate" not in out  # every type runs
    assert "labelSelector" in out
    code, out, _ = run(["types", "--output", "json"], capsys)
    rows = {row["type"]: row for row in json.loads(out)}
    assert len(rows) == 20
    assert rows["RBACRevoke"]["danger"] == "high"
    assert all(row["runnable"] for row in rows.values())
    models = {name: row["recoveryModel"] for name, row in rows.items()}
    assert [n for n, m in sorted(models.items()) if m == "condition"] == [
        "ClientFault",
        "FinalizerBlock",
        "NetworkPartition",
        "PDBBlock",
        "QuotaExhaustion",
        "RBACRevoke",
        "WebhookDisrupt",
        "WebhookLatency",
    ]
    selector = rows["PodKill"]["parameters"][0]
    assert selector == {
        "name": "labelSelector",
        "type": "selector",
        "required": True,
        "default": None,
        "description": selector["description"],
    }


def test_schema_and_crd_print_parseable_documents(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == ExitStatus.OK
    assert json.loads(out)["title"] == "ChaosExperiment"
    code, out, _ = run(["crd"], capsys)
    assert code == ExitStatus.OK
    assert yaml.safe_load(out)["kind"] == "CustomResourceDefinition"


def console(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "operator_chaos", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_console_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\x00\xff\xfe garbage \x80")
    result = console("validate", str(junk), str(INVALID / "duplicate-key.yaml"))
    assert result.returncode == ExitStatus.INVALID
    assert "Traceback" not in result.stdout + result.stderr
    assert "not valid UTF-8" in result.stdout
    assert console("validate", str(VALID)).returncode == ExitStatus.OK
    assert console("validate").returncode == ExitStatus.USAGE
