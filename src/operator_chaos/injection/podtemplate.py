"""Faults that break one container of a Deployment's pod template (CrashLoopInject,
ImageCorrupt): set its ``command`` or ``image`` so that every new pod fails.

The container is addressed by name (``containers[name=manager]``, a :class:`fieldswap.Item`),
never by index, so revert and the damage lane find it even if the operator reorders the list.
The write-ahead record, the no-clobber revert and the "field back to its original" damage lane
are :mod:`fieldswap`'s. What this module adds:

- ``confirm`` reads the *pods*, not just the template: the fault is only real once a pod
  running the broken template shows it (CrashLoopBackOff, ErrImagePull...). A node that does
  not honour the field (a pod of the broken template Ready and running) makes the injection
  fail instead of a run that proves nothing.
- an invariant lane: the Deployment is rolled out again (every replica of its current
  template updated, ready and available), so "the operator restored the template" also means
  the workload came back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from pydantic import Field

from operator_chaos.api.v1alpha1.names import NamespaceName as _DNSLabel
from operator_chaos.injection import fieldswap, targets
from operator_chaos.injection.base import InjectionParams, TypeSpec
from operator_chaos.injection.fields import ObjectName, WireType
from operator_chaos.injection.protocol import Damage, InjectionFailed, Plan, Reverted, Scope
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

CONTAINERS: tuple[str, ...] = ("spec", "template", "spec", "containers")
CONFIRM_TIMEOUT = 30.0
"""How long ``confirm`` waits for a pod of the broken template to show the fault."""

ContainerName = Annotated[_DNSLabel, WireType("container name")]


class ContainerParams(InjectionParams):
    """The Deployment and the container to break (shared by both types)."""

    name: ObjectName = Field(description="Name of the Deployment in the target namespace")
    container_name: ContainerName | None = Field(
        default=None, description="Container to break (default: the first container)"
    )


class Record(fieldswap.FieldRecord):
    """The container field's original and injected values; the path names the container."""


@dataclass(frozen=True, slots=True)
class TemplateState:
    """What ``plan`` found: the Deployment's uid, the resolved field path (the container by
    name, the first one when none was given) and the selector of its pods."""

    uid: str
    container: str
    path: tuple[fieldswap.Step, ...]
    selector: str


P = TypeVar("P", bound=ContainerParams)


class ContainerFault(Generic[P]):
    """Set one field of one container of a Deployment's pod template."""

    spec: TypeSpec
    field: str  # "command" or "image"
    shows: str  # what the failing pods show, for messages ("CrashLoopBackOff")

    def new_value(self, params: P) -> Any:
        raise NotImplementedError

    def failure(self, status: RawObject) -> str | None:
        """How a container status shows this fault (``None`` when it does not)."""
        raise NotImplementedError

    def refuse(self, ref: ResourceRef, container: str, current: tuple[bool, Any], new: Any) -> None:
        """Refuse a plan whose change would be no change at all."""
        if current == (True, new):
            raise targets.InjectionRefused(
                f"{ref} container {container!r} {self.field} is already {new!r}: nothing would"
                " change (a fault left over? run operator-chaos clean)"
            )

    async def plan(self, kube: KubeClient, params: P, scope: Scope) -> Plan[TemplateState]:
        what = self.spec.injection_type.value
        namespace = targets.need_namespace(scope, what)
        ref, obj = await targets.locate(kube, "apps/v1", "Deployment", params.name, namespace)
        container = pick_container(ref, obj, params.container_name)
        spec = obj.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        if replicas == 0:
            raise targets.InjectionRefused(
                f"{ref} has 0 replicas: no pod would run the broken template, so {what} could"
                " not show; scale it up or pick another Deployment"
            )
        if spec.get("paused"):
            raise targets.InjectionRefused(
                f"{ref} has its rollouts paused (spec.paused): no new pod would run the broken"
                f" template, so {what} could not show"
            )
        path = container_path(container, self.field)
        new = self.new_value(params)
        self.refuse(ref, container, fieldswap.lookup(obj, path), new)
        return Plan(
            footprint=Footprint(
                targets=(ref,),
                namespaces=targets.namespaces_of(ref),
                pods_affected=replicas,
                affects_pods=True,
            ),
            changes=(fieldswap.change(ref, obj, path, new),),
            state=TemplateState(
                uid=obj["metadata"]["uid"],
                container=container,
                path=path,
                selector=selector_text(ref, spec.get("selector")),
            ),
        )

    async def inject(
        self,
        kube: KubeClient,
        params: P,
        scope: Scope,
        plan: Plan[TemplateState],
        ledger: RunLedger,
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        line = await fieldswap.inject(
            kube,
            ledger,
            self.spec.injection_type,
            ref,
            plan.state.uid,
            plan.state.path,
            self.new_value(params),
        )
        return [line]

    async def confirm(
        self, kube: KubeClient, params: P, scope: Scope, plan: Plan[TemplateState]
    ) -> Sequence[str]:
        """The template holds the injected value, and a pod running it shows the fault (or
        the operator restored the template first). Waits at most ``CONFIRM_TIMEOUT``."""
        (ref,) = plan.footprint.targets
        state = plan.state
        lines = [await fieldswap.read_back(kube, ref, state.path)]
        lines.append(
            await self._watch_pods(kube, ref, state, self.new_value(params), CONFIRM_TIMEOUT)
        )
        return lines

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        return await fieldswap.revert(kube, record)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """The container field back to its original, and (invariant) the Deployment rolled
        out again with every replica of its current template available."""
        return [fieldswap.damage(record), rolled_out(record.target.ref)]

    # -- confirm ----------------------------------------------------------------------------

    async def _watch_pods(
        self, kube: KubeClient, ref: ResourceRef, state: TemplateState, new: Any, timeout: float
    ) -> str:
        """Watch the Deployment's pods (and the Deployment) until one of them settles it."""
        import asyncio  # here, not at the top: validate's cold start never needs it

        from operator_chaos.kube import wait

        broken_field = (*state.path[-2:],)  # (Item(container), field) within a pod's spec
        pod_path: tuple[fieldswap.Step, ...] = ("spec", "containers", *broken_field)
        pods: dict[str, RawObject] = {}

        def evidence() -> str | None:
            for pod in sorted(pods.values(), key=lambda p: str(p["metadata"]["name"])):
                if fieldswap.lookup(pod, pod_path) != (True, new):
                    continue  # a pod of another template
                status = container_status(pod, state.container)
                shown = self.failure(status) if status else None
                if shown:
                    name = pod["metadata"]["name"]
                    return (
                        f"fault active: Pod {ref.namespace}/{name} (broken template)"
                        f" container {state.container}: {shown}"
                    )
            return None

        async def failing_pod() -> str:
            from operator_chaos.kube.errors import Gone

            while True:
                listed = await kube.list("v1", "Pod", ref.namespace, label_selector=state.selector)
                pods.clear()
                pods.update({p["metadata"]["name"]: p for p in listed.items})
                found = evidence()
                if found:
                    return found
                try:
                    async for event in kube.watch(
                        "v1",
                        "Pod",
                        ref.namespace,
                        label_selector=state.selector,
                        resource_version=listed.resource_version,
                    ):
                        if event.type == "BOOKMARK":
                            continue
                        name = event.object["metadata"]["name"]
                        if event.type == "DELETED":
                            pods.pop(name, None)
                        else:
                            pods[name] = event.object
                        found = evidence()
                        if found:
                            return found
                except Gone:
                    continue

        async def template_restored() -> str:
            obj = await wait.wait_for(
                kube,
                ref.api_version,
                ref.kind,
                ref.name,
                ref.namespace,
                lambda o: o is None or fieldswap.lookup(o, state.path) != (True, new),
                timeout=timeout + 5,
            )
            now = "gone" if obj is None else fieldswap.describe(*fieldswap.lookup(obj, state.path))
            return (
                f"{ref} {fieldswap.dotted(state.path)} changed back to {now} before any pod"
                f" showed {self.shows}"
            )

        tasks = [asyncio.ensure_future(failing_pod()), asyncio.ensure_future(template_restored())]
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for task in tasks:
                if task in done and task.exception() is None:
                    return task.result()
            for task in done:  # an error (a forbidden watch...) is the caller's
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self._not_seen(ref, state, pods, pod_path, new, timeout)

    def _not_seen(
        self,
        ref: ResourceRef,
        state: TemplateState,
        pods: dict[str, RawObject],
        pod_path: tuple[fieldswap.Step, ...],
        new: Any,
        timeout: float,
    ) -> str:
        broken = [p for p in pods.values() if fieldswap.lookup(p, pod_path) == (True, new)]
        for pod in broken:
            status = container_status(pod, state.container) or {}
            if (status.get("state") or {}).get("running") and status.get("ready"):
                raise InjectionFailed(
                    f"{ref}: Pod {ref.namespace}/{pod['metadata']['name']} runs the broken"
                    f" template but its container {state.container} is running and ready:"
                    f" this cluster does not honour the container's {self.field} (a simulated"
                    f" node?), so {self.spec.injection_type.value} has no effect here"
                )
        return (
            f"{ref}: no pod of the broken template shows {self.shows} yet after"
            f" {timeout:g}s ({len(broken)} such pods); the template change stands"
        )


# -- helpers ----------------------------------------------------------------------------------


def pick_container(ref: ResourceRef, obj: RawObject, wanted: str | None) -> str:
    """The name of the container to break: ``wanted``, or the first one."""
    found: list[str] = [
        str(c.get("name"))
        for c in fieldswap.lookup(obj, CONTAINERS)[1] or []
        if isinstance(c, dict) and c.get("name")
    ]
    if not found:
        raise targets.InjectionRefused(f"{ref} has no containers in its pod template")
    if wanted is None:
        return found[0]
    if wanted not in found:
        raise targets.InjectionRefused(
            f"{ref} has no container {wanted!r} (containers: {', '.join(found)});"
            " fix spec.injection.parameters.containerName"
        )
    return wanted


def container_path(container: str, field: str) -> tuple[fieldswap.Step, ...]:
    """``spec.template.spec.containers[name=<container>].<field>``."""
    return (*CONTAINERS, fieldswap.Item(key="name", value=container), field)


def container_status(pod: RawObject, container: str) -> RawObject | None:
    """``status.containerStatuses[name=container]`` of a pod, if reported."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(status, dict) and status.get("name") == container:
            return status
    return None


def selector_text(ref: ResourceRef, selector: RawObject | None) -> str:
    """A Deployment's ``spec.selector`` as a label-selector string."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key"), expr.get("operator")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    if not parts:
        raise targets.InjectionRefused(f"{ref} has an empty pod selector: its pods cannot be told")
    return ",".join(parts)


def rolled_out(ref: ResourceRef) -> Damage:
    """Invariant lane: the Deployment's current template is fully rolled out and available
    (no pod of a broken template is left counted or waiting)."""

    def restored(view: StateView) -> tuple[bool, str]:
        obj = view.get(ref)
        if obj is None:
            return False, "Deployment deleted"
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        want = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        ready = int(status.get("readyReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        total = int(status.get("replicas") or 0)
        observed = int(status.get("observedGeneration") or 0) >= int(
            obj["metadata"].get("generation") or 0
        )
        ok = (
            observed
            and updated == ready == available == total == want
            and not status.get("unavailableReplicas")
            and _condition(obj, "Available")
        )
        text = f"{updated} updated, {ready} ready, {available} available of {want}"
        if total != want:
            text += f" ({total} pods in all)"
        if not observed:
            text += " (rollout not observed yet)"
        return bool(ok), text

    return Damage(
        target=str(ref), field="(rollout)", watch=(ref,), restored=restored, role="invariant"
    )


def _condition(obj: RawObject, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )
