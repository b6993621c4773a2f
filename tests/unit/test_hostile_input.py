"""Hostile input reported by users (issue #8): special files, ``--set`` on odd files, bounds,
unwritable ``-o`` paths, experiments of several operators on one page.

Every case must end in one clear error line and a documented exit code, never a hang or a
traceback. Hangs are caught with subprocess timeouts (a FIFO blocks ``open`` forever).
"""

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from operator_chaos.api.v1alpha1 import parse_duration
from operator_chaos.cli.app import main
from operator_chaos.docgen.sources import collect, one_operator
from operator_chaos.errors import UsageError
from operator_chaos.exitcodes import ExitStatus
from operator_chaos.knowledge.loader import load_file as load_knowledge
from operator_chaos.load import yamlmap
from operator_chaos.load.errors import LoadError
from operator_chaos.load.experiments import load_file, load_text

REPO = Path(__file__).resolve().parents[2]
VALID = REPO / "tests" / "data" / "valid" / "pod-kill.yaml"
VALID_TEXT = VALID.read_text(encoding="utf-8")
KNOWLEDGE = REPO / "knowledge" / "training-operator.yaml"
EXPERIMENTS = REPO / "experiments" / "training-operator"
NO_CLUSTER = ["--kubeconfig", "/nonexistent/kubeconfig"]


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The console script in-process: (exit code, stdout, stderr)."""
    try:
        code = int(main(args) or 0)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def console(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """The console script as a process; a hang fails the test with TimeoutExpired."""
    command = [sys.executable, "-m", "operator_chaos", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


# -- 1. special files are refused before they are opened ------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    yield path
    # Should a reader still block in open(), a non-blocking writer releases it.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "{f}"],
        ["validate", "--knowledge", "{f}"],
        ["run", "{f}", "--dry-run", *NO_CLUSTER],
        ["preflight", "{f}", *NO_CLUSTER],
        ["docs", "failure-modes", "--experiments", str(EXPERIMENTS), "--knowledge", "{f}"],
        ["run", str(VALID), "--dry-run", "--knowledge", "{f}", *NO_CLUSTER],
    ],
    ids=["validate", "validate-knowledge", "run-dry-run", "preflight", "docs", "run-knowledge"],
)
def test_a_fifo_is_refused_without_hanging(fifo: Path, command: list[str]) -> None:
    result = console(*(part.replace("{f}", str(fifo)) for part in command), timeout=15)
    assert result.returncode == ExitStatus.INVALID, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert f"{fifo}:0:0: is a FIFO (named pipe), not a regular file: pass a YAML file" in output


def test_devices_sockets_and_directories_are_refused(tmp_path: Path) -> None:
    sock_path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sock_path))
        cases = {
            Path("/dev/zero"): "is a character device, not a regular file",
            Path("/dev/null"): "is a character device, not a regular file",
            sock_path: "is a socket, not a regular file",
            tmp_path: "is a directory, expected a YAML file",
        }
        for path, message in cases.items():
            for load in (yamlmap.read_text, load_file, load_knowledge):
                with pytest.raises(LoadError) as caught:
                    load(path)
                assert str(caught.value).startswith(f"{path}:0:0: {message}: ")
                assert "\n" not in str(caught.value)


def test_reads_are_bounded_even_when_the_size_lies() -> None:
    # /proc files report size 0 but have content: reading stops at the cap, never hangs.
    text = yamlmap.read_text(Path("/proc/self/status"))
    assert 0 < len(text) <= yamlmap.MAX_BYTES


def test_a_broken_sibling_does_not_crash_knowledge_validation(tmp_path: Path) -> None:
    """Siblings used to be read with a plain yaml.load (timestamp month 13 -> traceback)."""
    (tmp_path / "broken.yaml").write_text("a: 2001-13-45\nb: " + "9" * 5000 + "\n")
    os.mkfifo(tmp_path / "pipe.yaml")  # a FIFO beside it is skipped, not opened
    target = tmp_path / "training-operator.yaml"
    target.write_text(KNOWLEDGE.read_text(encoding="utf-8"))
    assert load_knowledge(target).model.operator.name == "training-operator"


# -- 2. --set works on the parsed documents ---------------------------------------------------

COMMENTED = "# line 1\n# line 2\n# line 3\n" + VALID_TEXT.replace("tier: 1", "tier: 9")
TIER_LINE = COMMENTED.splitlines().index("  tier: 9") + 1


def test_set_keeps_the_files_positions_for_untouched_fields() -> None:
    with pytest.raises(LoadError) as caught:
        load_text(COMMENTED, Path("x.yaml"), ["spec.injection.ttl=30s"])
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.field) == (TIER_LINE, 3, "spec.tier")
    assert "--set" not in problem.message


def test_a_problem_in_an_overridden_value_names_the_set() -> None:
    with pytest.raises(LoadError) as caught:
        load_text(VALID_TEXT, Path("x.yaml"), ["spec.injection.ttl=2h"])
    (problem,) = caught.value.problems
    assert problem.field == "spec.injection.ttl"
    assert problem.line == VALID_TEXT.splitlines().index('    ttl: "300s"') + 1
    assert problem.message.endswith("(value from --set 'spec.injection.ttl=2h')")


def test_set_applies_to_every_document_of_a_multi_document_file() -> None:
    second = VALID_TEXT.replace("sample-pod-kill", "sample-pod-kill-2")
    loaded = load_text(VALID_TEXT + "---\n" + second, Path("x.yaml"), ["spec.injection.ttl=7s"])
    assert [item.experiment.spec.injection.ttl for item in loaded] == [timedelta(seconds=7)] * 2
    assert loaded[1].document.position(("spec", "tier"))[0] > len(VALID_TEXT.splitlines())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: [\n", "invalid YAML"),
        ("a: !!python/object:os.system {}\n", "unsupported YAML tag"),
        ("a: !!python/name:os.system\n", "invalid YAML"),
        ("a: " + "[" * 200 + "]" * 200 + "\n", "deeper than"),
        ("a: " + "9" * 5000 + "\n", "out of range"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
    ],
    ids=["broken", "tag", "python-name", "deep", "huge-int", "duplicate-key"],
)
def test_set_on_a_hostile_file_reports_the_files_problem(text: str, fragment: str) -> None:
    with pytest.raises(LoadError) as caught:
        load_text(text, Path("x.yaml"), ["spec.injection.ttl=30s"])
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("spec.injection.count=" + "9" * 5000, "out of range"),
        ("spec.injection.parameters=!!python/object:os.system ls", "python/object"),
        ("spec.x=" + "[" * 300 + "]" * 300, "deeper than"),
        ("spec.x=a\n---\nb", "expected one YAML value"),
    ],
)
def test_hostile_set_values_are_usage_errors(override: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_text(VALID_TEXT, Path("x.yaml"), [override])
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < 400


def test_set_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\na: 2\n")
    code, _, err = cli(["run", str(path), "--dry-run", "--set", "spec.tier=1", *NO_CLUSTER], capsys)
    assert code == ExitStatus.INVALID
    assert err == f"error: {path}:2:1: a: duplicate key 'a'\n"


# -- 3. bounds -----------------------------------------------------------------------------


def test_durations_are_bounded() -> None:
    with pytest.raises(ValueError, match="at most 8760h0m0s"):
        parse_duration("99999999999999h")
    assert parse_duration("8760h") == timedelta(days=365)


@pytest.mark.parametrize(
    "args",
    [
        ["run", str(VALID), "--dry-run", "--hold", "99999999999999h"],
        ["run", str(VALID), "--dry-run", "--stability", "99999999999999h"],
        ["suite", str(EXPERIMENTS), "--dry-run", "--cooldown", "99999999999999h"],
    ],
    ids=["hold", "stability", "cooldown"],
)
def test_duration_options_are_bounded(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli([*args, *NO_CLUSTER], capsys)
    assert code == ExitStatus.USAGE
    assert "must be at most 8760h0m0s (1 year)" in err


def test_huge_ttl_is_a_located_problem() -> None:
    text = VALID_TEXT.replace('ttl: "300s"', 'ttl: "99999999999999h"')
    with pytest.raises(LoadError) as caught:
        load_text(text, Path("x.yaml"))
    (problem,) = caught.value.problems
    assert problem.field == "spec.injection.ttl"
    assert "at most 8760h0m0s" in problem.message


def test_a_5000_digit_count_is_a_located_problem() -> None:
    text = VALID_TEXT.replace("count: 1", "count: " + "9" * 5000)
    with pytest.raises(LoadError) as caught:
        load_text(text, Path("x.yaml"))
    (problem,) = caught.value.problems
    assert (problem.field, problem.line) == ("spec.injection.count", 25)
    assert "out of range: integers must fit in 64 bits" in problem.message
    assert len(str(problem)) < 200


def test_a_bad_timestamp_is_a_located_problem() -> None:
    with pytest.raises(LoadError, match=r"x.yaml:2:1: b: invalid timestamp '2001-13-45'"):
        load_text("a: 1\nb: 2001-13-45\n", Path("x.yaml"))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("count: 1", "count: true", "spec.injection.count"),
        ("tier: 1", "tier: true", "spec.tier"),
        ("maxPodsAffected: 1", "maxPodsAffected: false", "spec.blastRadius.maxPodsAffected"),
        (
            "labelSelector: app.kubernetes.io/name=sample-controller",
            "labelSelector: app.kubernetes.io/name=sample-controller\n      count: true",
            "spec.injection.parameters.count",
        ),
    ],
)
def test_booleans_are_not_integers(old: str, new: str, field: str) -> None:
    with pytest.raises(LoadError) as caught:
        load_text(VALID_TEXT.replace(old, new), Path("x.yaml"))
    assert [p.field for p in caught.value.problems] == [field]
    assert caught.value.problems[0].message.startswith("must be an integer, got ")


def test_go_style_digit_strings_still_work_for_parameters() -> None:
    text = VALID_TEXT.replace("    count: 1\n", "").replace(
        "labelSelector: app.kubernetes.io/name=sample-controller",
        'labelSelector: app.kubernetes.io/name=sample-controller\n      count: "1"',
    )
    (loaded,) = load_text(text, Path("x.yaml"))
    assert loaded.experiment.spec.injection.parameters["count"] == "1"


def test_utf8_errors_point_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"a: 1\nb: " + "ünï".encode() + b"\nc: x\xff\n")
    with pytest.raises(LoadError) as caught:
        load_file(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (3, 5)
    assert problem.message == "file is not valid UTF-8 text"


def test_control_characters_point_at_their_place() -> None:
    with pytest.raises(LoadError) as caught:
        load_text("a: 1\nbé: x\x07\n", Path("x.yaml"))
    assert str(caught.value).startswith("x.yaml:2:6: invalid YAML: character U+0007")
    assert "\n" not in str(caught.value)


# -- 4. unwritable output paths ----------------------------------------------------------------

FAILURE_MODES = ["docs", "failure-modes", "--experiments", str(EXPERIMENTS), "--knowledge"]


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("/proc/version", "cannot write"),
        ("/proc/nope/x.md", "cannot write"),
        ("{tmp}", "is a directory"),
        ("/dev/null", "is not a regular file"),
    ],
)
def test_unwritable_output_is_one_line_and_exit_3(
    target: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = target.replace("{tmp}", str(tmp_path))
    for command in (
        [*FAILURE_MODES, str(KNOWLEDGE), "-o", output],
        ["docs", "operator", "--knowledge", str(KNOWLEDGE), "-o", output],
    ):
        code, out, err = cli(command, capsys)
        assert code == ExitStatus.INVALID, err
        assert out == ""
        assert err.count("\n") == 1
        assert err.startswith(f"error: {output}: ")
        assert fragment in err


def test_unwritable_site_directory_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    for output in ("/proc/version", "/proc/sys/not-here"):
        code, _, err = cli(
            [
                "docs",
                "all",
                "--experiments-root",
                str(REPO / "experiments"),
                "--knowledge-dir",
                str(REPO / "knowledge"),
                "-o",
                output,
            ],
            capsys,
        )
        assert code == ExitStatus.INVALID, err
        assert err.count("\n") == 1


def test_output_to_a_fifo_does_not_hang(fifo: Path) -> None:
    result = console(*FAILURE_MODES, str(KNOWLEDGE), "-o", str(fifo), timeout=15)
    assert result.returncode == ExitStatus.INVALID
    assert (
        result.stderr == f"error: {fifo}: is not a regular file: pass a file path to -o/--output\n"
    )


# -- 5. one operator per page ----------------------------------------------------------------


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """The training-operator experiments plus one aimed at another operator."""
    directory = tmp_path / "experiments"
    directory.mkdir()
    for source in EXPERIMENTS.glob("*.yaml"):
        (directory / source.name).write_text(source.read_text(encoding="utf-8"))
    odd = (EXPERIMENTS / "pod-kill.yaml").read_text(encoding="utf-8")
    odd = odd.replace("operator: training-operator", "operator: other-operator")
    (directory / "zz-other.yaml").write_text(odd.replace("name: training-operator-pod", "name: zz"))
    return directory


def test_the_knowledge_models_operator_is_kept_and_others_skipped_with_a_warning(
    mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli([*FAILURE_MODES[:3], str(mixed), "--knowledge", str(KNOWLEDGE)], capsys)
    assert code == ExitStatus.OK, err
    assert "zz-other.yaml" not in out
    assert err == (
        f"warning: {mixed / 'zz-other.yaml'}: skipped: targets operator 'other-operator',"
        " not 'training-operator'\n"
    )


def test_mixed_operators_without_a_choice_are_refused_naming_the_odd_file(
    mixed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    knowledge = mixed.parent / "knowledge.yaml"
    text = KNOWLEDGE.read_text(encoding="utf-8")
    knowledge.write_text(text.replace("name: training-operator\n", "name: third-operator\n", 1))
    code, out, err = cli([*FAILURE_MODES[:3], str(mixed), "--knowledge", str(knowledge)], capsys)
    assert code == ExitStatus.INVALID
    assert out == ""
    odd = mixed / "zz-other.yaml"
    line = odd.read_text().splitlines().index("    operator: other-operator") + 1
    assert err.startswith(f"error: {odd}:{line}:5: spec.target.operator: 'other-operator' is")
    assert "pass --operator NAME" in err
    assert err.count("\n") == 1


def test_operator_option_chooses(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = [*FAILURE_MODES[:3], str(mixed), "--knowledge", str(KNOWLEDGE)]
    code, out, err = cli([*base, "--operator", "other-operator"], capsys)
    assert code == ExitStatus.OK
    assert "zz-other.yaml" in out
    assert "pod-kill.yaml" not in out
    assert err.count("warning: ") == len(list(EXPERIMENTS.glob("*.yaml")))
    code, _, err = cli([*base, "--operator", "nobody"], capsys)
    assert code == ExitStatus.USAGE
    assert "no experiment targets that operator" in err


def test_one_operator_throughout_is_kept_as_is() -> None:
    entries = collect(EXPERIMENTS)
    assert one_operator(entries, "named-otherwise") == (entries, [])
