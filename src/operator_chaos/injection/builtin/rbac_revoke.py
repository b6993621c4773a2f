"""RBACRevoke: strip the subjects from the operator's (Cluster)RoleBinding.

Breaks: the operator's service account loses its permissions, so every API call it makes is
forbidden until the binding is restored. Revert writes the original subjects back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    ExperimentSpec,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.injection import targets
from operator_chaos.injection.base import Access, FieldPath, InjectionParams, RecordData, TypeSpec
from operator_chaos.injection.fields import PARAMS, NamespaceName, ResourceName, namespace_allowed
from operator_chaos.injection.protocol import (
    Damage,
    Injector,
    Plan,
    RevertAction,
    Reverted,
    Scope,
)
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef, StateView
from operator_chaos.safety.policy import Footprint

if TYPE_CHECKING:
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

PROTECTED_BINDINGS = frozenset({"cluster-admin"})


class BindingType(StrEnum):
    """The two kinds of RBAC binding."""

    CLUSTER_ROLE_BINDING = "ClusterRoleBinding"
    ROLE_BINDING = "RoleBinding"


class Params(InjectionParams):
    """The binding whose subjects are removed."""

    binding_name: ResourceName = Field(description="Name of the binding to revoke")
    binding_type: BindingType = Field(description="ClusterRoleBinding or RoleBinding")
    namespace: NamespaceName | None = Field(
        default=None,
        description="Namespace of a RoleBinding (default: the only allowed namespace)",
    )

    @field_validator("binding_name", mode="before")
    @classmethod
    def _not_system(cls, name: object) -> object:
        if isinstance(name, str) and (name.startswith("system:") or name in PROTECTED_BINDINGS):
            raise ValueError(
                f"{name!r} is a system binding the cluster depends on; revoke the operator's own"
            )
        return name

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        path: FieldPath = (*PARAMS, "namespace")
        if self.binding_type is BindingType.CLUSTER_ROLE_BINDING:
            if self.namespace is not None:
                return [(path, "a ClusterRoleBinding has no namespace; remove namespace")]
            return []
        if self.namespace is None and len(spec.blast_radius.allowed_namespaces) != 1:
            return [
                (
                    path,
                    "a RoleBinding needs its namespace: set namespace, or list exactly one"
                    " namespace in blastRadius.allowedNamespaces",
                )
            ]
        return namespace_allowed(spec, self.namespace, path)


class Record(RecordData):
    """The binding's exact subjects before the revoke."""

    subjects: list[dict[str, Any]]
    uid: str


@dataclass(frozen=True, slots=True)
class Binding:
    """What ``plan`` read: the binding's uid, its role and its subjects."""

    uid: str
    role_ref: Mapping[str, Any]
    subjects: Sequence[Mapping[str, Any]]


SPEC = TypeSpec(
    injection_type=InjectionType.RBAC_REVOKE,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Remove the subjects of a (Cluster)RoleBinding so the operator loses its permissions.",
    record=Record,
    access=(
        Access(("patch",)),
        Access(
            ("get",),
            on="cluster",
            group="rbac.authorization.k8s.io",
            resource="clusterroles",
            why="RBACRevoke reads the bound role",
        ),
        Access(
            ("create",),
            on="cluster",
            group="authorization.k8s.io",
            resource="subjectaccessreviews",
            why="confirm",
        ),
    ),
    example=lambda component, namespace: {
        "bindingName": f"{component}-rolebinding",
        "bindingType": "ClusterRoleBinding",
    },
)


class RBACRevoke:
    """Empties a binding's subjects; revert puts the exact original list back."""

    spec = SPEC

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[Binding]:
        namespace = None
        if params.binding_type is BindingType.ROLE_BINDING:
            namespace = params.namespace or targets.need_namespace(scope, "RBACRevoke")
        ref, obj = await targets.locate(
            kube,
            "rbac.authorization.k8s.io/v1",
            params.binding_type.value,
            params.binding_name,
            namespace,
        )
        subjects = obj.get("subjects") or []
        if not subjects:
            raise targets.InjectionRefused(f"{ref} has no subjects: nothing to revoke")
        return Plan(
            footprint=Footprint(
                targets=(ref,), namespaces=frozenset({namespace}) if namespace else frozenset()
            ),
            changes=(
                PlannedChange(
                    target=str(ref), field="subjects", before=_names(subjects), after="[]"
                ),
            ),
            state=Binding(obj["metadata"]["uid"], obj.get("roleRef") or {}, subjects),
        )

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Binding], ledger: RunLedger
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets

        async def read() -> RawObject:
            obj = await kube.get(ref)
            if obj["metadata"]["uid"] != plan.state.uid:
                raise targets.InjectionRefused(
                    f"{ref} was replaced since planning; not touching it"
                )
            return obj

        obj = await read()
        data = Record(subjects=obj.get("subjects") or [], uid=obj["metadata"]["uid"])
        record = await ledger.put(ledger.new_record(self.spec.injection_type, ref, data))

        async def revoke() -> None:
            current = await read()
            if (current.get("subjects") or []) != data.subjects:
                raise targets.InjectionRefused(
                    f"{ref} subjects changed while recording; retry later"
                )
            await targets.patch_unchanged(
                kube,
                ref,
                current,
                [
                    {"op": "replace", "path": "/subjects", "value": []},
                ],
            )

        await targets.retry_stale(revoke)
        await ledger.mark(record, "applied")
        return [f"revoked {ref}: removed {_names(data.subjects)}"]

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Binding]
    ) -> Sequence[str]:
        (ref,) = plan.footprint.targets
        now = (await kube.get(ref)).get("subjects") or []
        found = [f"{ref} now has {len(now)} subject(s)"]
        probe = await _probe(kube, plan.state.role_ref, ref.namespace)
        if probe is None:
            return found
        verb, group, resource = probe
        for subject in plan.state.subjects:
            allowed = await _can(kube, subject, verb, group, resource, ref.namespace)
            who = _names([subject])
            found.append(
                f"{who} may {'STILL' if allowed else 'no longer'} {verb} {resource}"
                f" (SubjectAccessReview{' — granted elsewhere' if allowed else ''})"
            )
        return found

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        ref = record.target.ref
        data = record.payload(Record)
        original = data.subjects

        def outcome(action: RevertAction, detail: str = "") -> Reverted:
            return Reverted(str(ref), action, "subjects", detail)

        async def restore() -> Reverted:
            obj = await kube.get_or_none(ref)
            if obj is None:
                return outcome(RevertAction.GONE, "deleted by someone since; not recreated")
            if obj["metadata"]["uid"] != data.uid:
                return outcome(RevertAction.REPLACED, "a new binding; its subjects left alone")
            current = obj.get("subjects") or []
            if current == original:
                return outcome(RevertAction.ALREADY, _names(original))
            if current:
                # Somebody (likely the operator) already set subjects again: theirs stand.
                return outcome(RevertAction.LEFT, f"changed since the fault to {_names(current)}")
            await targets.patch_unchanged(
                kube,
                ref,
                obj,
                [
                    {"op": "add", "path": "/subjects", "value": original},
                ],
            )
            return outcome(RevertAction.RESTORED, _names(original))

        return await targets.retry_stale(restore)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """Restored when the binding grants its original subjects again."""
        ref = record.target.ref
        original = record.payload(Record).subjects

        def restored(view: StateView) -> tuple[bool, str]:
            obj = view.get(ref)
            if obj is None:
                return False, "binding deleted"
            subjects = obj.get("subjects") or []
            return subjects == original, f"subjects: {_names(subjects) or 'none'}"

        return [Damage(str(ref), "subjects", (ref,), restored)]


def _names(subjects: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for s in subjects:
        ns = f"{s['namespace']}/" if s.get("namespace") else ""
        parts.append(f"{s.get('kind')}:{ns}{s.get('name')}")
    return "[" + ", ".join(parts) + "]"


async def _probe(
    kube: KubeClient, role_ref: Mapping[str, Any], namespace: str | None
) -> tuple[str, str, str] | None:
    """A (verb, group, resource) the bound role grants, to ask the authorizer about."""
    kind = role_ref.get("kind", "ClusterRole")
    ref = ResourceRef(
        "rbac.authorization.k8s.io/v1",
        kind,
        role_ref.get("name", ""),
        namespace if kind == "Role" else None,
    )
    role = await kube.get_or_none(ref)
    for rule in (role or {}).get("rules") or []:
        verbs = [v for v in rule.get("verbs") or [] if v != "*"]
        resources = [r for r in rule.get("resources") or [] if r != "*" and "/" not in r]
        groups = rule.get("apiGroups") or [""]
        if verbs and resources and groups[0] != "*":
            return verbs[0], groups[0], resources[0]
    return None


async def _can(
    kube: KubeClient,
    subject: Mapping[str, Any],
    verb: str,
    group: str,
    resource: str,
    namespace: str | None,
) -> bool:
    spec: dict[str, Any] = {
        "resourceAttributes": {"verb": verb, "group": group, "resource": resource}
    }
    if namespace:
        spec["resourceAttributes"]["namespace"] = namespace
    if subject.get("kind") == "ServiceAccount":
        sa_ns = subject.get("namespace", namespace or "default")
        spec["user"] = f"system:serviceaccount:{sa_ns}:{subject['name']}"
        spec["groups"] = [
            "system:serviceaccounts",
            f"system:serviceaccounts:{sa_ns}",
            "system:authenticated",
        ]
    elif subject.get("kind") == "Group":
        spec["user"] = "operator-chaos-probe"
        spec["groups"] = [subject["name"]]
    else:
        spec["user"] = subject["name"]
    review = await kube.create(
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    )
    return bool(review.get("status", {}).get("allowed"))


INJECTOR: Injector[Params] = RBACRevoke()  # annotated so mypy checks the protocol
