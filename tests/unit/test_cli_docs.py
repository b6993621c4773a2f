"""``operator-chaos docs``: files written, stdout, one-line errors, lazy imports."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from docs_pages import REPO, parse_markdown

from operator_chaos.cli.app import cli, main
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.load.errors import LoadError
from operator_chaos.load.experiments import load_file

KNOWLEDGE = REPO / "knowledge" / "training-operator.yaml"
EXPERIMENTS = REPO / "experiments" / "training-operator"
FAILURE_MODES = [
    "docs",
    "failure-modes",
    "--experiments",
    str(EXPERIMENTS),
    "--knowledge",
    str(KNOWLEDGE),
]


def test_failure_modes_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "site" / "training-operator.md"
    result = CliRunner().invoke(cli, [*FAILURE_MODES, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    page = parse_markdown(out.read_text(encoding="utf-8"))
    assert page.title == "training-operator Failure Modes"
    assert sorted(row[2] for row in page.rows) == sorted(p.name for p in EXPERIMENTS.iterdir())
    assert [row[0] for row in page.rows] == sorted(row[0] for row in page.rows)  # by type


def test_failure_modes_to_stdout_equals_the_file(tmp_path: Path) -> None:
    out = tmp_path / "page.md"
    runner = CliRunner()
    assert runner.invoke(cli, [*FAILURE_MODES, "-o", str(out)]).exit_code == 0
    result = runner.invoke(cli, FAILURE_MODES)
    assert result.exit_code == 0
    assert result.output == out.read_text(encoding="utf-8")


def test_missing_directory_is_one_line_and_nonzero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    args = ["docs", "failure-modes", "--experiments", str(missing), "--knowledge", str(KNOWLEDGE)]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == ExitStatus.INVALID
    err = capsys.readouterr().err
    assert err == f"error: {missing}:0:0: directory not found\n"


def test_runner_sees_the_same_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "docs",
            "failure-modes",
            "--experiments",
            str(tmp_path / "nope"),
            "--knowledge",
            str(KNOWLEDGE),
        ],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, LoadError)


def test_invalid_knowledge_lists_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = (
        KNOWLEDGE.read_text()
        .replace("kind: Lease", "kind: Leese")
        .replace("maxReconcileCycles: 10", "maxReconcileCycles: ten")
    )
    bad.write_text(text)
    numbered = list(enumerate(text.split("\n"), start=1))
    kind_line = next(n for n, line in numbered if "kind: Leese" in line)
    cycles_line = next(n for n, line in numbered if "maxReconcileCycles" in line)
    with pytest.raises(SystemExit) as exit_info:
        main(["docs", "operator", "--knowledge", str(bad)])
    assert exit_info.value.code == ExitStatus.INVALID
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 2
    assert lines[0].startswith(
        f"error: {bad}:{kind_line}:9: components[0].managedResources[2].kind:"
    )
    assert lines[1].startswith(f"{bad}:{cycles_line}:3: recovery.maxReconcileCycles:")


def test_operator_page_with_matrix() -> None:
    result = CliRunner().invoke(
        cli,
        ["docs", "operator", "--knowledge", str(KNOWLEDGE), "--experiments", str(EXPERIMENTS)],
    )
    assert result.exit_code == 0, result.output
    assert "## Coverage Matrix" in result.output
    files = sorted(EXPERIMENTS.glob("*.yaml"))
    types = {load_file(f)[0].experiment.spec.injection.type for f in files}
    assert f"{len(files)} experiments cover {len(types)} of 20 injection types." in result.output


def test_all_writes_the_site(tmp_path: Path) -> None:
    knowledge_dir = tmp_path / "knowledge"
    knowledge_dir.mkdir()
    (knowledge_dir / "training-operator.yaml").write_text(KNOWLEDGE.read_text())
    out = tmp_path / "docs" / "operators"
    result = CliRunner().invoke(
        cli,
        [
            "docs",
            "all",
            "--experiments-root",
            str(REPO / "experiments"),
            "--knowledge-dir",
            str(knowledge_dir),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        "index.md",
        "mkdocs-nav.yml",
        "training-operator/failure-modes.md",
        "training-operator/index.md",
    ]
    assert result.output.split("\n")[0] == str(out / "index.md")
    assert "operators/training-operator/index.md" in (out / "mkdocs-nav.yml").read_text()
    index = CliRunner().invoke(
        cli,
        [
            "docs",
            "index",
            "--experiments-root",
            str(REPO / "experiments"),
            "--knowledge-dir",
            str(knowledge_dir),
        ],
    )
    assert index.output == (out / "index.md").read_text()


def test_docs_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["docs", "--help"])
    assert result.exit_code == 0
    for name in ("failure-modes", "operator", "index", "all"):
        assert name in result.output


def test_docs_module_imports_lazily() -> None:
    code = (
        "import sys, operator_chaos.cli.docs\n"
        "heavy = [m for m in sys.modules if m.startswith(('pydantic', 'operator_chaos.docgen',"
        " 'operator_chaos.knowledge', 'operator_chaos.injection', 'yaml'))]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
