"""demo-operator: a small but real Kubernetes operator, the target of the repair-fault tests.

operator-chaos judges "repair faults" (DeploymentScaleZero, ConfigDrift, LabelStomping,
CRDMutation, PodKill) by watching whether the *operator* puts the damaged object back. Testing
that truthfully needs an operator process that really reconciles against the API server and
that can be told to stop repairing. This is one, written like any third-party operator: it uses
the lightkube async client only and knows nothing about operator-chaos.

Run::

    python tests/operators/demo_operator.py --kubeconfig K --namespace NS --pause-file PATH

It owns, in NS:

- Deployment ``demo-app``: ``spec.replicas`` 2, the labels in ``LABELS`` and its pod
  template's container ``app`` (``image``, no ``command``);
- ConfigMap ``demo-config``: ``data`` exactly ``{mode: normal, level: "3"}``;
- Secret ``demo-secret``: ``data`` exactly ``{token: <base64 of a fixed test value>}``;
- Widget ``demo-widget`` (``demo.operatorchaos.io/v1``): ``spec.size`` 3, ``spec.mode`` normal;
  its ``status.conditions[Ready]`` is True when every owned object matches and the Deployment
  has all replicas ready, otherwise False with a reason (``RepairPaused``,
  ``DeploymentNotReady``);
- Lease ``demo-operator-leader``: acquired at start (waiting while another live holder has
  it), renewed every 2 s, released on SIGTERM.

All four objects carry the ``LABELS``, which are repaired too; a deleted object is re-created.
Each repair is one stdout line, e.g. ``21:08:11.123 repaired Deployment demo-app
spec.replicas 0 -> 2`` (Secret values are never printed).

Objects are watched (list, then watch from the list's resourceVersion; re-list after 410
Gone); every event triggers a reconcile that re-reads the objects and merge-patches what
differs. While the pause file exists nothing is repaired (``paused: not repairing ...`` is
logged once per difference), but the watches, the Widget status and the Lease go on. The file
is checked every 0.5 s (a local file, nothing to watch); a flip triggers a full reconcile and
logs ``paused: pause file present`` or ``resumed: pause file removed``.

The CRD is not installed unless ``--install-crd`` is given (the test fixture installs it, as an
admin installs an operator's CRDs); without it the operator waits until the CRD is Established.
No port is opened. SIGTERM/SIGINT: release the Lease, exit 0. ``--parent-pid``: also exit when
that process is gone, so a crashed test session leaves no operator fighting the next one.
``--repair-delay S``: reconcile S seconds after a change instead of at once (a slow operator,
so a tool can see the damage before it is repaired).
"""

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.codecs import from_dict
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret
from lightkube.types import PatchType

FIELD_MANAGER = "demo-operator"
GROUP, VERSION = "demo.operatorchaos.io", "v1"
CRD_NAME = f"widgets.{GROUP}"
CRD_FILE = Path(__file__).with_name("widget-crd.yaml")
Widget = create_namespaced_resource(GROUP, VERSION, "Widget", "widgets")

DEPLOYMENT, CONFIGMAP, SECRET, WIDGET = "demo-app", "demo-config", "demo-secret", "demo-widget"
LEASE = "demo-operator-leader"
REPLICAS = 2
LABELS = {"app.kubernetes.io/name": "demo-app", "app.kubernetes.io/managed-by": "demo-operator"}
POD_LABELS = {"app.kubernetes.io/name": "demo-app"}
IMAGE = "registry.invalid/demo:1"
CONFIG_DATA = {"mode": "normal", "level": "3"}
TOKEN = "demo-operator-test-token"  # a fixed test value, not a credential
SECRET_DATA = {"token": base64.b64encode(TOKEN.encode()).decode()}
WIDGET_SPEC: dict[str, Any] = {"size": 3, "mode": "normal"}
LEASE_SECONDS = 15
RENEW_SECONDS = 2.0
PAUSE_POLL_SECONDS = 0.5
RESYNC_TICKS = 20  # a full reconcile every 20 pause polls (10 s), as informers resync
ABSENT = "<absent>"

RawObject = dict[str, Any]


def log(message: str) -> None:
    """One timestamped line on stdout (the tests read it)."""
    stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    print(f"{stamp} {message}", flush=True)


def as_dict(obj: Any) -> RawObject:
    """A lightkube object as the API server's JSON."""
    result: RawObject = obj.to_dict()
    return result


def now_micro() -> str:
    """A Kubernetes MicroTime for Lease fields."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_seconds() -> str:
    """A Kubernetes Time for condition transitions."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


# -- desired state and drift --------------------------------------------------------------


@dataclass(frozen=True)
class Owned:
    """One object the operator owns: its lightkube class, name and full desired form."""

    kind: str
    resource: Any
    name: str
    desired: Callable[[str], RawObject]


def _meta(name: str, namespace: str) -> RawObject:
    return {"name": name, "namespace": namespace, "labels": dict(LABELS)}


def desired_deployment(namespace: str) -> RawObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(DEPLOYMENT, namespace),
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": dict(POD_LABELS)},
            "template": {
                "metadata": {"labels": dict(POD_LABELS)},
                "spec": {"containers": [{"name": "app", "image": IMAGE}]},
            },
        },
    }


def desired_configmap(namespace: str) -> RawObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(CONFIGMAP, namespace),
        "data": dict(CONFIG_DATA),
    }


def desired_secret(namespace: str) -> RawObject:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(SECRET, namespace),
        "type": "Opaque",
        "data": dict(SECRET_DATA),
    }


def desired_widget(namespace: str) -> RawObject:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": _meta(WIDGET, namespace),
        "spec": dict(WIDGET_SPEC),
    }


# Reconcile order: the Widget last, so its status sees the others' final state.
OWNED = (
    Owned("Deployment", Deployment, DEPLOYMENT, desired_deployment),
    Owned("ConfigMap", ConfigMap, CONFIGMAP, desired_configmap),
    Owned("Secret", Secret, SECRET, desired_secret),
    Owned("Widget", Widget, WIDGET, desired_widget),
)


@dataclass(frozen=True)
class Drift:
    """One owned field that differs, and the merge patch that puts it back."""

    field: str
    current: str
    desired: str
    patch: RawObject


def _show(value: Any) -> str:
    return ABSENT if value is None else str(value)


def _data_drifts(obj: RawObject, want: dict[str, str], *, hide: bool) -> list[Drift]:
    """``data`` must equal ``want`` exactly: wrong values are reset, extra keys removed."""
    have: dict[str, str] = obj.get("data") or {}
    found = []
    for key in sorted(set(want) | set(have)):
        current, desired = have.get(key), want.get(key)
        if current == desired:
            continue
        shown = (
            ("<hidden>" if current is not None else ABSENT, "<hidden>" if desired else ABSENT)
            if hide
            else (_show(current), _show(desired))
        )
        found.append(Drift(f"data.{key}", *shown, {"data": {key: desired}}))
    return found


def drifts(kind: str, obj: RawObject) -> list[Drift]:
    """What differs between ``obj`` and the owned fields of its desired form."""
    found = []
    labels = obj.get("metadata", {}).get("labels") or {}
    for key, value in LABELS.items():
        if labels.get(key) != value:
            found.append(
                Drift(
                    f"metadata.labels.{key}",
                    _show(labels.get(key)),
                    value,
                    {"metadata": {"labels": {key: value}}},
                )
            )
    spec = obj.get("spec") or {}
    if kind == "Deployment" and spec.get("replicas") != REPLICAS:
        found.append(
            Drift(
                "spec.replicas",
                _show(spec.get("replicas")),
                str(REPLICAS),
                {"spec": {"replicas": REPLICAS}},
            )
        )
    if kind == "Deployment":
        found += _container_drifts(obj)
    if kind == "ConfigMap":
        found += _data_drifts(obj, CONFIG_DATA, hide=False)
    elif kind == "Secret":
        found += _data_drifts(obj, SECRET_DATA, hide=True)
    elif kind == "Widget":
        for key, value in WIDGET_SPEC.items():
            if spec.get(key) != value:
                found.append(
                    Drift(f"spec.{key}", _show(spec.get(key)), str(value), {"spec": {key: value}})
                )
    return found


def _container_drifts(obj: RawObject) -> list[Drift]:
    """The pod template's containers: each desired one's ``image`` and ``command`` (absent
    when not desired). A difference resets the whole list to the desired one (a merge patch
    replaces lists; the API server fills in the defaults again)."""
    template = desired_deployment("")["spec"]["template"]
    want = template["spec"]["containers"]
    have = {
        c.get("name"): c
        for c in ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
        or []
    }
    patch = {"spec": {"template": {"spec": {"containers": want}}}}
    return [
        Drift(
            f"spec.template.spec.containers[name={container['name']}].{key}",
            _show((have.get(container["name"]) or {}).get(key)),
            _show(container.get(key)),
            patch,
        )
        for container in want
        for key in ("image", "command")
        if (have.get(container["name"]) or {}).get(key) != container.get(key)
    ]


def merge(patches: list[RawObject]) -> RawObject:
    """Deep-merge merge-patch fragments into one patch."""
    result: RawObject = {}
    for fragment in patches:
        _merge_into(result, fragment)
    return result


def _merge_into(target: RawObject, fragment: RawObject) -> None:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


def deployment_ready(dep: RawObject | None) -> str | None:
    """None when the Deployment has all replicas updated, ready and available, else why not."""
    if dep is None:
        return f"Deployment {DEPLOYMENT} is missing"
    status = dep.get("status") or {}
    if status.get("observedGeneration", 0) < dep["metadata"].get("generation", 0):
        return f"Deployment {DEPLOYMENT} rollout not observed yet"
    ready = status.get("readyReplicas", 0)
    counts = (status.get("updatedReplicas", 0), ready, status.get("availableReplicas", 0))
    if counts != (REPLICAS, REPLICAS, REPLICAS):
        return f"Deployment {DEPLOYMENT}: {ready}/{REPLICAS} replicas ready"
    return None


# -- the operator -------------------------------------------------------------------------


def _api_code(exc: ApiError) -> int:
    return int(getattr(exc.status, "code", 0) or 0)


class DemoOperator:
    """Watches the owned objects and keeps them in their desired state."""

    def __init__(
        self,
        client: AsyncClient,
        namespace: str,
        pause_file: Path,
        identity: str,
        parent_pid: int | None,
        repair_delay: float = 0.0,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.pause_file = pause_file
        self.identity = identity
        self.parent_pid = parent_pid
        self.repair_delay = repair_delay
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.paused = pause_file.exists()
        self.reported: set[str] = set()  # "paused: not repairing ..." lines already printed

    # -- lifecycle ----------------------------------------------------------------------

    async def run(self) -> int:
        if not await self._namespace_exists():
            log(f"error: namespace {self.namespace} does not exist")
            return 2
        if not await self._until_stopped(self._wait_for_crd()):
            return 0
        if not await self._until_stopped(self._acquire_lease()):
            return 0
        if self.paused:
            log(f"paused: pause file present ({self.pause_file}), not repairing")
        tasks = [
            asyncio.create_task(self._renew_lease(), name="lease"),
            asyncio.create_task(self._poll_pause_file(), name="pause-file"),
            asyncio.create_task(self._reconcile_loop(), name="reconcile"),
            *(asyncio.create_task(self._watch(o), name=f"watch-{o.kind}") for o in OWNED),
        ]
        stopper = asyncio.create_task(self.stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        code = 0
        for task in done:
            if task is not stopper:  # a loop ended on its own: a bug, not a shutdown
                exc = task.exception()
                log(f"error: {task.get_name()} stopped: {exc!r}")
                code = 1
        for task in [*tasks, stopper]:
            task.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        await self._release_lease()
        log("stopped")
        return code

    async def _until_stopped(self, step: Any) -> bool:
        """Run ``step`` unless a stop comes first; True when it finished."""
        task = asyncio.ensure_future(step)
        stopper = asyncio.create_task(self.stop.wait())
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log("stopped")
            return False
        task.result()
        return True

    async def _namespace_exists(self) -> bool:
        try:
            await self.client.get(Namespace, self.namespace)
        except ApiError as exc:
            if _api_code(exc) == 404:
                return False
            raise
        return True

    async def _wait_for_crd(self) -> None:
        """Return once the Widget CRD is Established (watched, not polled)."""

        def established(crd: RawObject) -> bool:
            conditions = (crd.get("status") or {}).get("conditions") or []
            return any(
                c.get("type") == "Established" and c.get("status") == "True" for c in conditions
            )

        said = False
        stream = self._object_events(CustomResourceDefinition, CRD_NAME, None)
        async with contextlib.aclosing(stream) as states:
            async for crd in states:
                if crd is not None and established(crd):
                    return
                if not said:
                    log(f"waiting for CRD {CRD_NAME} to be established")
                    said = True

    async def install_crd(self) -> None:
        """Server-side apply of widget-crd.yaml (``--install-crd``)."""
        doc = yaml.safe_load(CRD_FILE.read_text())
        await self.client.apply(from_dict(doc), field_manager=FIELD_MANAGER, force=True)
        log(f"applied CRD {CRD_NAME}")

    # -- watching ---------------------------------------------------------------------------

    async def _object_events(
        self, resource: Any, name: str, namespace: str | None
    ) -> AsyncGenerator[RawObject | None, None]:
        """The object (None while absent) after a list and after every watch event.

        Resumes from the last resourceVersion when a watch ends; re-lists after 410 Gone or
        a broken connection."""
        fields: dict[str, Any] = {"metadata.name": name}
        while True:
            try:
                listing = self.client.list(resource, namespace=namespace, fields=fields)
                items = [as_dict(obj) async for obj in listing]
                yield items[0] if items else None
                stream = cast(
                    AsyncGenerator[tuple[str, Any], None],
                    self.client.watch(
                        resource,
                        namespace=namespace,
                        fields=fields,
                        resource_version=listing.resourceVersion,
                    ),
                )
                async with contextlib.aclosing(stream) as events:
                    async for event_type, obj in events:
                        yield None if event_type == "DELETED" else as_dict(obj)
            except ApiError as exc:
                if _api_code(exc) != 410:  # 410 Gone: the version is too old, re-list
                    log(f"error: watch {name}: {exc}; re-listing")
                    await asyncio.sleep(1.0)
            except Exception as exc:  # transport errors: the server went away for a moment
                log(f"error: watch {name}: {exc!r}; re-listing")
                await asyncio.sleep(1.0)

    async def _watch(self, owned: Owned) -> None:
        async for _ in self._object_events(owned.resource, owned.name, self.namespace):
            self.wake.set()

    async def _poll_pause_file(self) -> None:
        tick = 0
        while True:
            paused = self.pause_file.exists()
            if paused != self.paused:
                self.paused = paused
                if paused:
                    log(f"paused: pause file present ({self.pause_file}), not repairing")
                else:
                    log("resumed: pause file removed, repairing")
                    self.reported.clear()
                self.wake.set()
            if self.parent_pid and not _pid_alive(self.parent_pid):
                log(f"parent process {self.parent_pid} is gone; stopping")
                self.stop.set()
            tick += 1
            if tick % RESYNC_TICKS == 0:
                self.wake.set()
            await asyncio.sleep(PAUSE_POLL_SECONDS)

    # -- reconciling ------------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            await self.wake.wait()
            if self.repair_delay:  # a slow controller: react late; events meanwhile coalesce
                await asyncio.sleep(self.repair_delay)
            self.wake.clear()
            try:
                await self.reconcile()
            except Exception as exc:  # keep running, as a controller's work queue would
                log(f"error: reconcile failed: {exc!r}; retrying")
                await asyncio.sleep(0.5)
                self.wake.set()

    async def _get(self, owned: Owned) -> RawObject | None:
        try:
            obj = await self.client.get(owned.resource, owned.name, namespace=self.namespace)
        except ApiError as exc:
            if _api_code(exc) == 404:
                return None
            raise
        return as_dict(obj)

    async def reconcile(self) -> None:
        """Re-read every owned object and repair (or, paused, report) what differs."""
        current: dict[str, RawObject | None] = {}
        differences: list[str] = []
        paused = self.paused
        for owned in OWNED:
            obj = await self._get(owned)
            what = f"{owned.kind} {owned.name}"
            if obj is None:
                if paused:
                    self._report_paused(f"{what}: re-create (deleted)")
                    differences.append(f"{what} is missing")
                    current[owned.kind] = None
                    continue
                try:
                    created = await self.client.create(
                        from_dict(owned.desired(self.namespace)), field_manager=FIELD_MANAGER
                    )
                    log(f"repaired {what}: re-created (was deleted)")
                    obj = as_dict(created)
                except ApiError as exc:
                    if _api_code(exc) != 409:
                        raise
                    obj = await self._get(owned)  # created meanwhile: check it below
                    if obj is None:
                        raise
            found = drifts(owned.kind, obj)
            if found and paused:
                for d in found:
                    self._report_paused(f"{what} {d.field} {d.current} -> {d.desired}")
                    differences.append(f"{what} {d.field} is {d.current}, want {d.desired}")
            elif found:
                patched = await self.client.patch(
                    owned.resource,
                    owned.name,
                    merge([d.patch for d in found]),
                    namespace=self.namespace,
                    patch_type=PatchType.MERGE,
                    field_manager=FIELD_MANAGER,
                )
                for d in found:
                    log(f"repaired {what} {d.field} {d.current} -> {d.desired}")
                obj = as_dict(patched)
            current[owned.kind] = obj
        await self._update_status(current, differences)

    def _report_paused(self, what: str) -> None:
        line = f"paused: not repairing {what}"
        if line not in self.reported:
            self.reported.add(line)
            log(line)

    async def _update_status(
        self, current: dict[str, RawObject | None], differences: list[str]
    ) -> None:
        """Set the Widget's Ready condition (only when it changes)."""
        widget = current.get("Widget")
        if widget is None:
            return
        not_ready = deployment_ready(current.get("Deployment"))
        if differences:
            ready, reason = "False", "RepairPaused"
            message = "not repaired while paused: " + "; ".join(differences)
        elif not_ready:
            ready, reason, message = "False", "DeploymentNotReady", not_ready
        else:
            ready, reason, message = "True", "Reconciled", "all owned objects match"
        generation = widget["metadata"].get("generation", 0)
        status = widget.get("status") or {}
        old: RawObject = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        if (old.get("status"), old.get("reason"), old.get("message")) == (
            ready,
            reason,
            message,
        ) and status.get("observedGeneration") == generation:
            return
        condition = {
            "type": "Ready",
            "status": ready,
            "reason": reason,
            "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": (
                old["lastTransitionTime"]
                if old.get("status") == ready and old.get("lastTransitionTime")
                else now_seconds()
            ),
        }
        await self.client.patch(
            Widget.Status,
            WIDGET,
            {"status": {"observedGeneration": generation, "conditions": [condition]}},
            namespace=self.namespace,
            patch_type=PatchType.MERGE,
            field_manager=FIELD_MANAGER,
        )
        if old.get("status") != ready:
            log(f"Widget {WIDGET} Ready={ready} ({reason}: {message})")

    # -- leader lease -----------------------------------------------------------------------

    async def _get_lease(self) -> RawObject | None:
        try:
            lease = await self.client.get(Lease, LEASE, namespace=self.namespace)
        except ApiError as exc:
            if _api_code(exc) == 404:
                return None
            raise
        return as_dict(lease)

    def _lease_body(self, transitions: int) -> RawObject:
        stamp = now_micro()
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LEASE, "namespace": self.namespace, "labels": dict(LABELS)},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": LEASE_SECONDS,
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseTransitions": transitions,
            },
        }

    async def _acquire_lease(self) -> None:
        """Take the Lease once it is free or expired (retrying every renew period)."""
        waiting_for = None
        while True:
            try:
                lease = await self._get_lease()
                if lease is None:
                    await self.client.create(from_dict(self._lease_body(0)))
                    log(f"acquired lease {LEASE} as {self.identity}")
                    return
                spec = lease.get("spec") or {}
                holder = spec.get("holderIdentity")
                renewed = parse_time(spec.get("renewTime"))
                duration = timedelta(seconds=spec.get("leaseDurationSeconds") or LEASE_SECONDS)
                live = renewed is not None and renewed + duration > datetime.now(UTC)
                if holder and holder != self.identity and live:
                    if waiting_for != holder:
                        log(f"waiting for lease {LEASE}, held by {holder}")
                        waiting_for = holder
                else:
                    transitions = int(spec.get("leaseTransitions") or 0)
                    body = self._lease_body(transitions + (1 if holder != self.identity else 0))
                    # replace with the read resourceVersion: two candidates cannot both win
                    body["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
                    await self.client.replace(from_dict(body))
                    log(f"acquired lease {LEASE} as {self.identity}")
                    return
            except ApiError as exc:
                if _api_code(exc) not in (404, 409):
                    log(f"error: acquiring lease: {exc}")
            await asyncio.sleep(RENEW_SECONDS)

    async def _renew_lease(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                lease = await self._get_lease()
                if lease is None:
                    await self.client.create(from_dict(self._lease_body(0)))
                    log(f"re-created lease {LEASE}")
                    continue
                spec = lease.get("spec") or {}
                patch: RawObject = {"spec": {"renewTime": now_micro()}}
                if spec.get("holderIdentity") != self.identity:
                    log(f"lease {LEASE} was held by {spec.get('holderIdentity')}; taking it back")
                    patch = {
                        "spec": self._lease_body(int(spec.get("leaseTransitions") or 0) + 1)["spec"]
                    }
                elif spec.get("leaseDurationSeconds") != LEASE_SECONDS:
                    patch["spec"]["leaseDurationSeconds"] = LEASE_SECONDS
                await self.client.patch(
                    Lease,
                    LEASE,
                    patch,
                    namespace=self.namespace,
                    patch_type=PatchType.MERGE,
                    field_manager=FIELD_MANAGER,
                )
            except Exception as exc:  # the next renewal tries again
                log(f"error: renewing lease: {exc!r}")

    async def _release_lease(self) -> None:
        """Give the Lease up so a successor need not wait for it to expire."""
        with contextlib.suppress(Exception):
            lease = await self._get_lease()
            if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                await self.client.patch(
                    Lease,
                    LEASE,
                    {
                        "spec": {
                            "holderIdentity": None,
                            "leaseDurationSeconds": 1,
                            "renewTime": now_micro(),
                        }
                    },
                    namespace=self.namespace,
                    patch_type=PatchType.MERGE,
                    field_manager=FIELD_MANAGER,
                )
                log(f"released lease {LEASE}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig file to use")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current)")
    parser.add_argument("--namespace", required=True, help="namespace of the owned objects")
    parser.add_argument(
        "--pause-file", required=True, type=Path, help="while this file exists, do not repair"
    )
    parser.add_argument("--identity", default=None, help="lease holder (default: host_pid)")
    parser.add_argument("--install-crd", action="store_true", help="apply the Widget CRD first")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when it is gone")
    parser.add_argument(
        "--repair-delay",
        type=float,
        default=0.0,
        help="seconds to wait after a change before reconciling (default 0: at once)",
    )
    return parser.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    config = KubeConfig.from_file(args.kubeconfig).get(args.context)
    client = AsyncClient(
        config, namespace=args.namespace, field_manager=FIELD_MANAGER, trust_env=False
    )
    identity = args.identity or f"{socket.gethostname()}_{os.getpid()}"
    operator = DemoOperator(
        client, args.namespace, args.pause_file, identity, args.parent_pid, args.repair_delay
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, operator.stop.set)
    log(f"demo-operator starting: namespace {args.namespace}, identity {identity}")
    try:
        if args.install_crd:
            await operator.install_crd()
        return await operator.run()
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
