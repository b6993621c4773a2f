"""Build the control plane from the Go module proxy into the version cache; skip what exists.

Each target is a small Go module under ``gomod/`` whose go.mod/go.sum pin every dependency.
Kubernetes' own go.mod replaces its staging modules with local paths, so it cannot be
``go install``-ed directly; our wrapper module requires it and maps each staging module to
its published version instead.
"""

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from operator_chaos.errors import OperatorChaosError
from operator_chaos.sandbox import versions

Progress = Callable[[str], None]


class BuildError(OperatorChaosError):
    """Go is missing or a build failed; the message says what to install or which log to read."""


@dataclass(frozen=True, slots=True)
class Target:
    """One ``go build`` invocation and the files it must produce."""

    name: str
    module: str
    packages: tuple[str, ...]
    outputs: tuple[str, ...]
    ldflags: str
    bin_dir: Callable[[], Path]


def _k8s_ldflags() -> str:
    major, minor = versions.K8S_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    # Without these, /version says v0.0.0-master and clients mis-detect the server.
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={versions.K8S_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=2026-06-01T00:00:00Z",
        ]
    return " ".join(flags)


TARGETS = (
    Target(
        "etcd", "etcd", ("go.etcd.io/etcd/server/v3",), ("etcd",), "-s -w", versions.k8s_bin_dir
    ),
    Target(
        "kwok", "kwok", ("sigs.k8s.io/kwok/cmd/kwok",), ("kwok",), "-s -w", versions.k8s_bin_dir
    ),
    Target(
        "kubernetes",
        "k8s",
        tuple(
            f"k8s.io/kubernetes/cmd/{c}"
            for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
        ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"),
        _k8s_ldflags(),
        versions.k8s_bin_dir,
    ),
    Target(
        "training-operator",
        "training-operator",
        (".",),
        ("training-operator",),
        "-s -w",
        lambda: versions.operator_dir() / "bin",
    ),
)


def missing() -> list[Target]:
    """Targets whose binaries are not all in the cache yet."""
    return [t for t in TARGETS if not all((t.bin_dir() / o).is_file() for o in t.outputs)]


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"})
    return env


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "Go toolchain not found: install Go >= 1.24 (e.g. `apt-get install golang-go`"
            " or https://go.dev/dl) and run `operator-chaos sandbox build` again"
        )
    return go


def build_all(progress: Progress = print, *, force: bool = False) -> float:
    """Build every missing target; return the wall time in seconds."""
    started = time.monotonic()
    todo = list(TARGETS) if force else missing()
    if not todo:
        progress(f"control plane {versions.K8S_VERSION}: cached in {versions.k8s_bin_dir()}")
    else:
        go = _go()
        for n, target in enumerate(todo, 1):
            _build_one(go, target, f"[{n}/{len(todo)}]", progress)
    _copy_operator_manifests(progress)
    return time.monotonic() - started


def _build_one(go: str, target: Target, step: str, progress: Progress) -> None:
    bin_dir = target.bin_dir()
    bin_dir.mkdir(parents=True, exist_ok=True)
    logs = versions.cache_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"build-{target.name}.log"
    # Build from a private copy: the installed package may be read-only, and go may
    # touch go.sum while resolving.
    work = versions.cache_root() / "gomod" / target.module
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(versions.GOMOD_DIR / target.module, work)
    out = str(bin_dir / target.outputs[0]) if len(target.packages) == 1 else f"{bin_dir}/"
    cmd = [go, "build", "-trimpath", "-ldflags", target.ldflags, "-o", out, *target.packages]
    progress(f"{step} building {target.name} (first time only; log: {log_path}) ...")
    t0 = time.monotonic()
    with log_path.open("w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        result = subprocess.run(
            cmd, cwd=work, env=_go_env(), stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        raise BuildError(
            f"building {target.name} failed (exit {result.returncode}); see {log_path}"
        )
    progress(f"{step} built {target.name} in {time.monotonic() - t0:.0f}s")


def _copy_operator_manifests(progress: Progress) -> None:
    """Keep the upstream PyTorchJob CRD and ClusterRole next to the operator binary."""
    dest = versions.operator_dir() / "manifests"
    wanted = ("kubeflow.org_pytorchjobs.yaml", "role.yaml")
    if all((dest / w).is_file() for w in wanted):
        return
    work = versions.cache_root() / "gomod" / "training-operator"
    if not work.exists():
        shutil.copytree(versions.GOMOD_DIR / "training-operator", work)
    cmd = [
        _go(),
        "list",
        "-m",
        "-f",
        "{{.Dir}}",
        f"github.com/kubeflow/training-operator@{versions.TRAINING_OPERATOR_VERSION}",
    ]
    result = subprocess.run(
        cmd, cwd=work, env=_go_env(), capture_output=True, text=True, check=False
    )
    src = Path(result.stdout.strip())
    if result.returncode != 0 or not src.is_dir():
        subprocess.run(
            [
                _go(),
                "mod",
                "download",
                f"github.com/kubeflow/training-operator@{versions.TRAINING_OPERATOR_VERSION}",
            ],
            cwd=work,
            env=_go_env(),
            capture_output=True,
            check=False,
        )
        result = subprocess.run(
            cmd, cwd=work, env=_go_env(), capture_output=True, text=True, check=False
        )
        src = Path(result.stdout.strip())
    if not src.is_dir():
        raise BuildError(
            f"cannot locate the training-operator module source: {result.stderr.strip()}"
        )
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "manifests/base/crds/kubeflow.org_pytorchjobs.yaml", dest / wanted[0])
    shutil.copyfile(src / "manifests/base/rbac/role.yaml", dest / wanted[1])
    progress(f"copied training-operator manifests to {dest}")
