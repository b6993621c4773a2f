"""A kubeconfig that is not a regular file is refused at once (no hang, no endless read)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_special_kubeconfig_is_one_error_line(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "kubeconfig"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    done = subprocess.run(
        [sys.executable, "-m", "operator_chaos", "clean", "--kubeconfig", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: kubeconfig {path}: not a regular file; pass a kubeconfig file"], (
        done.stderr
    )
    assert done.returncode not in (0, 1), done.returncode


def test_clean_refuses_a_system_ledger_namespace_before_connecting(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "operator_chaos",
            "clean",
            "--ledger-namespace",
            "kube-system",
            "--kubeconfig",
            str(tmp_path / "missing"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert "is a system namespace" in done.stderr
