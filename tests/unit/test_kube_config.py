"""Choosing the cluster as kubectl does: the ``$KUBECONFIG`` list merged, and the local
sandbox used only when it is the only one running (real processes, real state directories)."""

import base64
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import httpx2
import pytest

from operator_chaos.cli.common import running_sandboxes
from operator_chaos.kube import config, transport
from operator_chaos.kube.errors import ConfigError
from operator_chaos.sandbox import pki, processes
from operator_chaos.sandbox.cluster import Sandbox, State, kubeconfig_yaml


def kubeconfig(path: Path, *, current: str | None, entries: dict[str, str], **users: str) -> Path:
    """A kubeconfig whose contexts are named like their cluster and user (name -> server)."""
    doc: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in entries.items()],
        "users": [{"name": n, "user": {"token": users.get(n, f"token-{n}")}} for n in entries],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in entries],
    }
    if current:
        doc["current-context"] = current
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No kubeconfig, no in-cluster account and an empty sandbox cache: a clean machine."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPERATOR_CHAOS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path


def test_kubeconfig_list_is_merged_first_file_wins(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = kubeconfig(
        home / "a", current="alpha", entries={"alpha": "https://a:1", "both": "https://a:2"}
    )
    b_dir = home / "b-dir"
    b_dir.mkdir()
    b = kubeconfig(
        b_dir / "b", current="beta", entries={"beta": "https://b:1", "both": "https://b:2"}
    )
    monkeypatch.setenv("KUBECONFIG", f"{a}:{home / 'missing'}:{b}")

    second = config.resolve(context="beta")  # a context only the second file has
    assert (second.server, second.context) == ("https://b:1", "beta")
    assert second.source == f"{a}:{b}"
    assert config.resolve().context == "alpha"  # current-context of the first file that sets it
    assert config.resolve(context="both").server == "https://a:2"  # first definition wins
    assert config.context_names() == (f"{a}:{b}", ["alpha", "both", "beta"])

    with pytest.raises(ConfigError, match=r"context 'gamma' not found \(contexts: alpha, both"):
        config.resolve(context="gamma")


def test_current_context_comes_from_a_later_file_when_the_first_sets_none(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = kubeconfig(home / "a", current=None, entries={"alpha": "https://a:1"})
    b = kubeconfig(home / "b", current="beta", entries={"beta": "https://b:1"})
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    assert config.resolve().server == "https://b:1"


def test_relative_paths_resolve_next_to_the_file_that_names_them(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "pki").mkdir()
    ca = pki.create_ca(home / "pki")
    user = pki.issue(ca, home / "pki", "admin", common_name="admin", client=True)
    first = kubeconfig(home / "first", current="alpha", entries={"alpha": "https://a:1"})
    doc = {
        "clusters": [
            {
                "name": "s",
                "cluster": {"server": "https://s:1", "certificate-authority": "pki/ca.crt"},
            }
        ],
        "users": [
            {
                "name": "s",
                "user": {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key"},
            }
        ],
        "contexts": [{"name": "s", "context": {"cluster": "s", "user": "s"}}],
    }
    (home / "second").write_text(json.dumps(doc))
    monkeypatch.setenv("KUBECONFIG", f"{first}:{home / 'second'}")
    resolved = config.resolve(context="s")
    assert resolved.config.cluster.certificate_auth == str(ca.cert)
    assert resolved.config.user is not None
    assert resolved.config.user.client_key == str(user.key)
    transport.tls_context(resolved.config)  # the files are found and load


def test_kubeconfig_naming_only_missing_files_is_an_error(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(home / "nope"))
    with pytest.raises(ConfigError, match="none of these files exists"):
        config.resolve()


# -- the sandbox fallback ------------------------------------------------------------------


@pytest.fixture
def sandboxes(home: Path) -> Iterator[dict[str, Sandbox]]:
    """Three sandbox state directories; ``start(name)`` gives one a live kube-apiserver pid."""
    boxes = {name: Sandbox(name) for name in ("default", "ux", "other")}
    for port, box in enumerate(boxes.values(), start=16443):
        box.dir.mkdir(parents=True)
        state = State(box.name, "v1.33.13", 1, 2, port, 3, 4, 5, 0.0)
        box.state_file.write_text(json.dumps(asdict(state)))
        box.kubeconfig.write_text(
            kubeconfig_yaml(
                server=state.server,
                ca=box.dir / "ca.crt",
                context=f"sandbox-{box.name}",
                user={"token": "t"},
            )
        )
    yield boxes
    for box in boxes.values():
        for tracked in processes.tracked_in(box.pids_dir):
            processes.stop(tracked, grace=1)


def start(box: Sandbox) -> None:
    """A real process recorded as the sandbox's kube-apiserver, as ``sandbox up`` records it."""
    processes.spawn(
        "kube-apiserver",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        pid_dir=box.pids_dir,
        log_path=box.logs_dir / "kube-apiserver.log",
    )


def test_no_running_sandbox_is_no_cluster(sandboxes: dict[str, Sandbox]) -> None:
    with pytest.raises(ConfigError, match="no cluster configured"):
        config.resolve(sandboxes=running_sandboxes)


def test_the_only_running_sandbox_is_used_whatever_its_name(
    sandboxes: dict[str, Sandbox],
) -> None:
    start(sandboxes["ux"])
    resolved = config.resolve(sandboxes=running_sandboxes)
    assert resolved.server == "https://127.0.0.1:16444"
    assert (resolved.source, resolved.context) == ("sandbox ux", "sandbox-ux")


def test_several_running_sandboxes_must_be_chosen(sandboxes: dict[str, Sandbox]) -> None:
    start(sandboxes["ux"])
    start(sandboxes["default"])
    with pytest.raises(ConfigError) as info:
        config.resolve(sandboxes=running_sandboxes)
    message = str(info.value)
    assert "2 sandboxes are running (default, ux)" in message
    assert "--kubeconfig $(operator-chaos sandbox kubeconfig --name default)" in message
    assert "\n" not in message


def test_a_kubeconfig_wins_over_running_sandboxes(
    sandboxes: dict[str, Sandbox], home: Path
) -> None:
    start(sandboxes["ux"])
    kube_dir = home / "home" / ".kube"
    kube_dir.mkdir()
    kubeconfig(kube_dir / "config", current="real", entries={"real": "https://real:6443"})
    assert config.resolve(sandboxes=running_sandboxes).server == "https://real:6443"


# -- credentials ---------------------------------------------------------------------------


async def test_exec_plugin_token_is_sent_and_refreshed_after_401(home: Path) -> None:
    plugin = home / "plugin.py"
    counter = home / "calls"
    plugin.write_text(
        "import json, pathlib, sys\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "json.dump({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',"
        " 'status': {'token': f'tok-{n}'}}, sys.stdout)\n"
    )
    doc = {
        "clusters": [{"name": "c", "cluster": {"server": "https://c:1"}}],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": sys.executable,
                        "args": [str(plugin)],
                    }
                },
            }
        ],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path = home / "exec-config"
    path.write_text(json.dumps(doc))
    auth = transport.auth(config.resolve(path).config)
    seen: list[str] = []

    def server(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["Authorization"])
        return httpx2.Response(401 if len(seen) == 2 else 200)

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(server), auth=auth) as http:
        assert (await http.get("https://c:1/api")).status_code == 200
        assert (await http.get("https://c:1/api")).status_code == 200  # 401, new token, retry
    assert seen == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_client_certificate_data_loads(home: Path) -> None:
    (home / "pki").mkdir()
    ca = pki.create_ca(home / "pki")
    user = pki.issue(ca, home / "pki", "admin", common_name="admin", client=True)
    b64 = {p: base64.b64encode(p.read_bytes()).decode() for p in (ca.cert, user.cert, user.key)}
    doc = {
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": "https://c:1", "certificate-authority-data": b64[ca.cert]},
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "client-certificate-data": b64[user.cert],
                    "client-key-data": b64[user.key],
                },
            }
        ],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path = home / "data-config"
    path.write_text(json.dumps(doc))
    ctx = transport.tls_context(config.resolve(path).config)
    assert ctx.get_ca_certs()[0]["subject"] == ((("commonName", "operator-chaos-sandbox-ca"),),)
    bad = json.loads(path.read_text())
    bad["users"][0]["user"]["client-key-data"] = "not base64!"
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match="client-key-data is not base64-encoded PEM"):
        transport.tls_context(config.resolve(path).config)
