"""Pinned versions and the per-version binary cache (outside any work tree)."""

import os
from pathlib import Path

K8S_VERSION = "v1.33.13"
ETCD_VERSION = "v3.5.21"
KWOK_VERSION = "v0.7.0"

GOMOD_DIR = Path(__file__).parent / "gomod"
"""Go modules (go.mod + go.sum committed) that pin every binary we build."""


def cache_root() -> Path:
    """``$OPERATOR_CHAOS_CACHE`` or ``~/.cache/operator-chaos``."""
    env = os.environ.get("OPERATOR_CHAOS_CACHE")
    return Path(env).expanduser() if env else Path("~/.cache/operator-chaos").expanduser()


def k8s_bin_dir() -> Path:
    """Where etcd, kube-*, kubectl and kwok live."""
    return cache_root() / f"k8s-{K8S_VERSION}" / "bin"


def sandboxes_dir() -> Path:
    """Parent of every sandbox's state directory."""
    return cache_root() / "sandbox"
