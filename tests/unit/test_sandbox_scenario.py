"""Scenario files (pure logic: parsing, validation messages, placeholders) and the build lock."""

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from operator_chaos.errors import UsageError
from operator_chaos.load.errors import LoadError
from operator_chaos.sandbox import build, install, scenario

GOOD = """\
apiVersion: sandbox.operatorchaos.io/v1alpha1
kind: Scenario
metadata: {name: my-operator}
spec:
  manifests: [{path: manifests.yaml}]
  operators:
    - name: manager
      deployment: {name: my-operator, namespace: my-ns}
      container: manager
      binary: {python: my_operator}
      images: [example.com/op:v1]
      args:
        - --kubeconfig={kubeconfig}
        - --metrics=127.0.0.1:{port:metrics}
        - --literal={{x}}
      readiness: {port: health}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "manifests.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: my-ns}\n"
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_user_scenario_loads_and_names_its_ports(tmp_path: Path) -> None:
    loaded = scenario.load(str(write(tmp_path, GOOD)))
    op = loaded.doc.spec.operators[0]
    assert loaded.name == "my-operator"
    assert op.port_names() == ["metrics", "health"]
    assert install.program(loaded, op, print)[1:] == ["-m", "my_operator"]


def test_ports_and_volumes_only_manifests_name_are_declared_once(tmp_path: Path) -> None:
    declared = GOOD.replace(
        "      readiness: {port: health}\n",
        "      readiness: {port: health}\n"
        "      ports: [webhook, metrics]\n"
        "      volumes: [config]\n",
    )
    op = scenario.load(str(write(tmp_path, declared))).doc.spec.operators[0]
    assert op.port_names() == ["metrics", "webhook", "health"]
    assert op.volume_names() == ["config"]
    bad = declared.replace("ports: [webhook, metrics]", "ports: [Web_Hook]")
    with pytest.raises(LoadError, match=r"spec\.operators\[0\]\.ports\[0\]"):
        scenario.load(str(write(tmp_path, bad)))


def test_the_agent_leaves_undeclared_placeholders_in_cluster_text_and_says_so() -> None:
    reported: list[str] = []
    text = "metrics: 127.0.0.1:{port:metrics}\nwebhook: {port:webhook}\njson: {other}\n"
    out = scenario.expand(text, {}, {"metrics": 8080}, {}, reported.append)
    assert out == "metrics: 127.0.0.1:8080\nwebhook: {port:webhook}\njson: {other}\n"
    assert reported == ["{port:webhook}", "{other}"]


def test_every_shipped_scenario_loads() -> None:
    shipped = scenario.shipped()
    assert "training-operator" in shipped
    for name in shipped:
        assert scenario.load(name).name == name


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ("      container: manager\n", "spec.operators[0]", "container"),
        ("        - --kubeconfig={kubeconfig}\n", "spec.operators[0].args[0]", "{kubeconfig"),
        ("      binary: {python: my_operator}\n", "spec.operators[0].binary", "exactly one"),
        ("metadata: {name: my-operator}\n", "metadata.name", "pattern"),
    ],
)
def test_mistakes_are_located_one_line_each(
    tmp_path: Path, change: str, where: str, message: str
) -> None:
    broken = {
        "      container: manager\n": "      container: manager\n      colour: blue\n",
        "        - --kubeconfig={kubeconfig}\n": "        - --kubeconfig={kubeconfig\n",
        "      binary: {python: my_operator}\n": "      binary: {python: a, path: b}\n",
        "metadata: {name: my-operator}\n": "metadata: {name: My_Operator}\n",
    }[change]
    path = write(tmp_path, GOOD.replace(change, broken))
    with pytest.raises(LoadError) as caught:
        scenario.load(str(path))
    text = str(caught.value)
    assert text.startswith(f"{path}:"), text
    assert where in text, text
    assert message in text or "extra" in text or "not permitted" in text, text
    assert all(line.startswith(str(path)) for line in text.splitlines())


def test_missing_files_are_reported_before_anything_runs(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("path: manifests.yaml", "path: nowhere/"))
    with pytest.raises(LoadError, match=r"spec\.manifests\[0\]\.path: nowhere/: no such file"):
        scenario.load(str(path))


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(UsageError) as caught:
        scenario.load("no-such-operator")
    assert "unknown scenario 'no-such-operator'" in str(caught.value)
    assert "training-operator" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_placeholders_expand_and_braces_escape() -> None:
    values = {"kubeconfig": "/k", "namespace": "ns", "podName": "p", "certDir": "/c"}
    text = "--a={kubeconfig} --p=127.0.0.1:{port:metrics} --v={volume:cfg}/f --j={{x}}"
    out = scenario.expand(text, values, {"metrics": 8080}, {"cfg": "/v"})
    assert out == "--a=/k --p=127.0.0.1:8080 --v=/v/f --j={x}"
    for bad in ("{kubeconfig", "{port}", "{nope}", "{port:Bad_Name}"):
        with pytest.raises(ValueError, match=r"placeholder|brace"):
            scenario.check_placeholders(bad)


def test_deployment_is_pinned_to_the_agent_node_and_webhooks_rewired() -> None:
    dep: dict[str, Any] = {"kind": "Deployment", "spec": {"template": {"spec": {}}}}
    pinned = install.on_agent_node(dep)["spec"]["template"]["spec"]
    assert pinned["nodeSelector"] == {"operator-chaos.io/node": "agent"}
    assert pinned["tolerations"][0]["key"] == "operator-chaos.io/agent"
    assert "nodeSelector" not in dep["spec"]["template"]["spec"]  # the input is not changed
    config: dict[str, Any] = {
        "webhooks": [{"clientConfig": {"service": {"name": "s", "path": "/validate"}}}]
    }
    rewired = install.rewire(config, 4443, b"CA")
    assert rewired["webhooks"][0]["clientConfig"] == {
        "url": "https://127.0.0.1:4443/validate",
        "caBundle": "Q0E=",
    }


def test_kustomization_with_patches_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\npatches: []\n")
    with pytest.raises(install.ScenarioError, match="kustomize build"):
        install.read_objects(tmp_path)
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    assert [o["kind"] for o in install.read_objects(tmp_path)] == ["Namespace"]


HOLDER = """\
import sys, time
from operator_chaos.sandbox import build
with build.cache_lock(lambda m: None, "holder build"):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def test_a_second_build_waits_for_the_lock_and_says_for_whom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_CHAOS_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "HEARTBEAT", 0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "2"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPERATOR_CHAOS_CACHE": str(tmp_path)},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        said: list[str] = []
        started = time.monotonic()
        with build.cache_lock(said.append, "second build", poll=0.05):
            waited = time.monotonic() - started
        assert waited >= 1.5  # acquired only once the holder (sleeping 2 s) let go
        assert said, "the waiter said nothing"
        assert f"held by pid {holder.pid} since " in said[0]
        assert "(holder build)" in said[0]
        assert len(said) >= 2  # it keeps saying so while it waits
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_lock_is_exclusive_between_threads_and_reentrant_within_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_CHAOS_CACHE", str(tmp_path))
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        # Nested in the same thread: no deadlock.
        with build.cache_lock(lambda _m: None, "first"), build.cache_lock(lambda _m: None, "in"):
            order.append("first in")
            inside.set()
            time.sleep(0.5)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    said: list[str] = []
    with build.cache_lock(said.append, "second", poll=0.05):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]
    assert f"pid {os.getpid()}" in said[0]


FAKE_GO = """\
#!/bin/sh
# stands in for `go build -v`: names packages as it compiles them, slowly
echo example.com/op/internal/a
sleep 0.6
echo example.com/op/cmd/manager
sleep 0.6
for last; do :; done
"""


def test_a_long_build_has_a_heartbeat_and_records_its_cold_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_CHAOS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "HEARTBEAT", 0.25)
    go = tmp_path / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    source = tmp_path / "mod"
    source.mkdir()
    (source / "go.mod").write_text("module example.com/op\n")
    target = build.Target("op", "op", (".",), ("op",), "", lambda: tmp_path / "bin", source=source)
    said: list[str] = []
    build._build_one(str(go), target, "[1/1]", said.append)
    beats = [line for line in said if "elapsed" in line]
    assert len(beats) >= 3, said
    assert any("compiling example.com/op/internal/a" in b for b in beats), beats
    assert said[-1].startswith("[1/1] built op in ")
    assert "cold build time per piece: op 1s" in build.cold_times(["op"])
