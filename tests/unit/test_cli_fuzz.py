"""Fuzz the command-line entry points with hostile files and flags (issue #8).

Whatever the input (random YAML-ish text, random bytes, deep nesting, huge numbers, anchors,
tags, binary), every command must end with a documented exit code, without a traceback, within
a few seconds. ``run --dry-run`` gets a kubeconfig that does not exist, so no cluster is ever
contacted: it must fail cleanly (invalid input first, then "unreachable").

Commands run in-process (the console script's ``main`` inside click's output isolation) for
speed; a handful of subprocess runs check the real console script. The budget is about 150
examples in all, so the module takes well under a minute on two cores.
"""

import inspect
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operator_chaos.cli.app import main
from operator_chaos.exitcodes import ExitStatus

REPO = Path(__file__).resolve().parents[2]
VALID = (REPO / "tests" / "data" / "valid" / "pod-kill.yaml").read_text(encoding="utf-8")
KNOWLEDGE = (REPO / "knowledge" / "training-operator.yaml").read_text(encoding="utf-8")
NO_CLUSTER = ["--kubeconfig", "/nonexistent/operator-chaos-fuzz/kubeconfig"]
MAX_SECONDS = 5.0
DOCUMENTED = {int(status) for status in ExitStatus} - {int(ExitStatus.ERROR)}
"""Exit 1 means "a bug, or an error with no better code": hostile input has a better code."""


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=timedelta(seconds=20),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
        database=None,
    )


# -- inputs ----------------------------------------------------------------------------------

HOSTILE_FRAGMENTS = [
    "!!python/object:os.system {}",
    "!!python/name:os.system",
    "!!binary AAA",
    "!!set {a, b}",
    "!custom {x: 1}",
    "&a [*a]",
    "*undefined",
    "&x {k: v}",
    "<<: *x",
    "[" * 300 + "]" * 300,
    "{a: " * 150 + "1" + "}" * 150,
    "9" * 5000,
    "-" + "9" * 30,
    "0x" + "f" * 40,
    "1:" * 200 + "1",
    "1.0e+99999",
    ".nan",
    "-.inf",
    "2001-13-45",
    "2001-12-14t21:59:43.10-05:00",
    "true",
    "~",
    "'99999999999999h'",
    '"1e400h"',
    "? [a]\n: b",
    "---",
    "...",
    "%YAML 1.1",
    "\t- tab",
    "\x00",
    "\x07",
    "\ufeff",
    "\u2028",
    "é: ü",
    '"\\uD800"',
    "|\n  literal",
    ">-\n  folded",
]
KEYS = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "tier",
    "target",
    "operator",
    "component",
    "injection",
    "type",
    "count",
    "ttl",
    "parameters",
    "blastRadius",
    "maxPodsAffected",
    "hypothesis",
    "recoveryTimeout",
    "components",
    "managedResources",
    "dependencies",
    "recovery",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["PodKill", "30s", "99999999999999h", "ChaosExperiment", "high", "v1"]),
)
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=20,
)


@st.composite
def yamlish_lines(draw: st.DrawFn) -> str:
    """Lines of keys, values and hostile fragments at random indentation."""
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        indent = " " * draw(st.sampled_from([0, 0, 2, 4, 6, 1, 3]))
        key = draw(st.sampled_from(KEYS) | st.text(max_size=6))
        value = draw(st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=12))
        lines.append(f"{indent}{key}: {value}" if draw(st.booleans()) else f"{indent}- {value}")
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw: st.DrawFn, base: str) -> str:
    """A valid file with a few lines replaced, duplicated or dropped."""
    lines = base.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["value", "fragment", "duplicate", "drop"]))
        head, sep, _ = lines[index].partition(":")
        if action == "value" and sep:
            lines[index] = f"{head}: {draw(st.sampled_from(HOSTILE_FRAGMENTS))}"
        elif action == "fragment":
            lines.insert(index, draw(st.sampled_from(HOSTILE_FRAGMENTS)))
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif len(lines) > 1:
            del lines[index]
    return "\n".join(lines) + "\n"


def as_bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def contents(base: str) -> st.SearchStrategy[bytes]:
    """File contents: text, bytes, YAML-ish lines, dumped structures, mutated valid files."""
    return st.one_of(
        st.text(max_size=300).map(as_bytes),
        st.binary(max_size=300),
        yamlish_lines().map(as_bytes),
        structures.map(lambda d: as_bytes(yaml.safe_dump(d, allow_unicode=True))),
        mutated(base).map(as_bytes),
        mutated(base).map(lambda t: as_bytes(t + "---\n" + t)),
        st.sampled_from(HOSTILE_FRAGMENTS).map(as_bytes),
        st.just(as_bytes(base)),
    )


set_items = st.one_of(
    st.builds(
        lambda path, value: f"{path}={value}",
        st.sampled_from(
            [
                "spec.injection.ttl",
                "spec.injection.count",
                "spec.tier",
                "metadata.name",
                "spec.steadyState.checks.0.kind",
                "spec.steadyState.checks.9.kind",
                "spec.injection.parameters",
                "spec",
                "a.b.c",
                ".",
                "",
            ]
        ),
        st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=10),
    ),
    st.text(max_size=20),
)
durations = st.sampled_from(["5s", "0", "-1s", "99999999999999h", "1e400h", "abc", "", "8761h"])


# -- running ---------------------------------------------------------------------------------


CLI_RUNNER_ARGS = inspect.signature(CliRunner.__init__).parameters


def invoke(args: Sequence[str]) -> tuple[int, str, str]:
    """Run the console script in-process; (exit code, stdout, stderr). Anything escaping
    ``main`` other than SystemExit is a crash and fails the example."""
    runner = CliRunner(**({"mix_stderr": False} if "mix_stderr" in CLI_RUNNER_ARGS else {}))
    started = time.monotonic()
    # click 8.1 yields (stdout, stderr); 8.2 adds the mixed output as a third stream.
    with runner.isolation() as streams:
        out, err = streams[0], streams[1]
        try:
            code = int(main(list(args)) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        elapsed = time.monotonic() - started
        stdout = out.getvalue().decode("utf-8", errors="replace")
        stderr = err.getvalue().decode("utf-8", errors="replace")
    assert elapsed < MAX_SECONDS, f"{args} took {elapsed:.1f} s"
    assert "Traceback" not in stdout + stderr, stderr
    assert code in DOCUMENTED, f"{args}: exit {code}: {stderr}"
    return code, stdout, stderr


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="operator-chaos-fuzz-")


# -- properties ------------------------------------------------------------------------------


@fuzz_settings(40)
@given(contents(VALID), st.sampled_from(["x.yaml", "x.yml", "x.txt"]))
def test_validate(data: bytes, name: str) -> None:
    with workdir() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        code, _, _ = invoke(["validate", str(path)])
        assert code in {ExitStatus.OK, ExitStatus.INVALID}
        code, out, _ = invoke(["validate", "-o", "json", tmp])
        assert code in {ExitStatus.OK, ExitStatus.INVALID}
        assert out.startswith("{")


@fuzz_settings(25)
@given(contents(KNOWLEDGE), contents(KNOWLEDGE))
def test_validate_knowledge(data: bytes, sibling: bytes) -> None:
    with workdir() as tmp:
        path = Path(tmp) / "operator.yaml"
        path.write_bytes(data)
        (Path(tmp) / "sibling.yaml").write_bytes(sibling)
        code, _, _ = invoke(["validate", "--knowledge", str(path)])
        assert code in {ExitStatus.OK, ExitStatus.INVALID}


@fuzz_settings(30)
@given(
    contents(VALID),
    st.lists(set_items, max_size=3),
    st.none() | durations,
    st.none() | durations,
)
def test_run_dry_run_without_a_cluster(
    data: bytes, overrides: list[str], hold: str | None, stability: str | None
) -> None:
    with workdir() as tmp:
        path = Path(tmp) / "x.yaml"
        path.write_bytes(data)
        args = ["run", str(path), "--dry-run", *NO_CLUSTER]
        for item in overrides:
            args += ["--set", item]
        if hold is not None:
            args += ["--hold", hold]
        if stability is not None:
            args += ["--stability", stability]
        code, _, _ = invoke(args)
        # Never OK: either the input is refused or the (absent) cluster cannot be reached.
        assert code in {
            ExitStatus.USAGE,
            ExitStatus.INVALID,
            ExitStatus.UNREACHABLE,
            ExitStatus.NOT_APPLICABLE,
        }


@fuzz_settings(30)
@given(
    st.just(as_bytes(VALID)) | contents(VALID),  # valid inputs half the time: -o is reached
    st.just(as_bytes(KNOWLEDGE)) | contents(KNOWLEDGE),
    st.sampled_from([None, "page.md", "sub/dir/page.md", "/proc/version", ".", "/dev/null"]),
    st.none() | st.sampled_from(["training-operator", "sample-operator", "nobody"]),
)
def test_docs_failure_modes(
    data: bytes, knowledge: bytes, output: str | None, operator: str | None
) -> None:
    with workdir() as tmp:
        experiments = Path(tmp) / "experiments"
        experiments.mkdir()
        (experiments / "a.yaml").write_bytes(data)
        (experiments / "b.yaml").write_bytes(as_bytes(VALID))
        knowledge_file = Path(tmp) / "training-operator.yaml"
        knowledge_file.write_bytes(knowledge)
        args = ["docs", "failure-modes", "--experiments", str(experiments)]
        args += ["--knowledge", str(knowledge_file)]
        if output is not None:
            args += ["-o", output if output.startswith("/") else str(Path(tmp) / output)]
        if operator is not None:
            args += ["--operator", operator]
        code, _, _ = invoke(args)
        assert code in {ExitStatus.OK, ExitStatus.USAGE, ExitStatus.INVALID}


@fuzz_settings(25)
@given(
    st.sampled_from(["PodKill", "podkill", "ConfigDrift", "WebhookDisrupt", "Nope"])
    | st.text(max_size=10),
    st.sampled_from(["ctrl", "a" * 70, "Bad_Name", ""]) | st.text(max_size=10),
    st.sampled_from(["op", "-x", "kube-system"]) | st.text(max_size=10),
    st.sampled_from([None, "exp.yaml", "/proc/version", ".", "/dev/null"]),
)
def test_init(kind: str, component: str, operator: str, output: str | None) -> None:
    with workdir() as tmp:
        args = ["init", "--type", kind, "--component", component, "--operator", operator]
        if output is not None:
            args += ["-o", output if output.startswith("/") else str(Path(tmp) / output)]
            args.append("--force")
        code, _, _ = invoke(args)
        assert code in {ExitStatus.OK, ExitStatus.USAGE, ExitStatus.INVALID}


# -- the real console script -----------------------------------------------------------------

SUBPROCESS_CASES = {
    "binary": bytes(range(256)),
    "alias-bomb": as_bytes(
        "\n".join(
            ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
            + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
        )
    ),
    "huge-count": as_bytes(VALID.replace("count: 1", "count: " + "9" * 5000)),
    "huge-ttl": as_bytes(VALID.replace('ttl: "300s"', 'ttl: "99999999999999h"')),
    "python-tag": b"a: !!python/object/apply:os.system ['echo pwned']\n",
}


@pytest.mark.parametrize("name", sorted(SUBPROCESS_CASES))
def test_console_script(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(SUBPROCESS_CASES[name])
    for args in (
        ["validate", str(path)],
        ["run", str(path), "--dry-run", "--set", "spec.tier=2", *NO_CLUSTER],
    ):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "operator_chaos", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert time.monotonic() - started < 15
        assert "Traceback" not in result.stdout + result.stderr
        assert result.returncode == ExitStatus.INVALID, result.stderr
        assert "pwned" not in result.stdout + result.stderr
