"""Loopback port allocation and the binary cache location (pure logic, no cluster)."""

import socket
from pathlib import Path

import pytest

from operator_chaos.sandbox import build, ports, versions


def test_free_port_never_repeats_and_is_bindable_on_loopback() -> None:
    seen = [ports.free_port() for _ in range(300)]
    assert len(set(seen)) == len(seen)
    assert all(1024 <= p <= 65535 for p in seen)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", seen[-1]))  # really free a moment ago


def test_free_port_skips_a_port_handed_out_even_after_it_was_released() -> None:
    first = ports.free_port()
    # The kernel may hand the same ephemeral port out again; free_port must not.
    assert all(ports.free_port() != first for _ in range(200))


def test_is_listening() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert ports.is_listening(port)
    assert not ports.is_listening(port)


def test_missing_honours_operator_chaos_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_CHAOS_CACHE", str(tmp_path))
    assert versions.cache_root() == tmp_path
    assert versions.k8s_bin_dir() == tmp_path / f"k8s-{versions.K8S_VERSION}" / "bin"
    assert versions.sandboxes_dir() == tmp_path / "sandbox"
    assert build.missing() == list(build.TARGETS)

    # Every output of one target present => only that target is no longer missing.
    kube = next(t for t in build.TARGETS if t.name == "kubernetes")
    kube.bin_dir().mkdir(parents=True)
    for output in kube.outputs[:-1]:
        (kube.bin_dir() / output).write_text("")
    assert kube in build.missing()  # one output still absent
    (kube.bin_dir() / kube.outputs[-1]).write_text("")
    assert build.missing() == [t for t in build.TARGETS if t is not kube]

    for target in build.TARGETS:
        target.bin_dir().mkdir(parents=True, exist_ok=True)
        for output in target.outputs:
            (target.bin_dir() / output).write_text("")
    assert build.missing() == []


def test_cache_root_defaults_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPERATOR_CHAOS_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert versions.cache_root() == tmp_path / ".cache" / "operator-chaos"
    assert build.missing() == list(build.TARGETS)
