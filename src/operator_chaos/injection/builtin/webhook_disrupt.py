"""WebhookDisrupt: change the failure policy of an admission webhook configuration.

Breaks: with ``Ignore`` a broken webhook stops protecting the API (invalid objects get in); with
``Fail`` an unavailable webhook blocks every write it covers. Revert restores each webhook's
original failure policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

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
from operator_chaos.injection.fields import PARAMS, LabelSelector, ResourceName
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

PROTECTED_WEBHOOKS = frozenset(
    {
        "validate-policy.kyverno.io",
        "gatekeeper-validating-webhook-configuration",
        "gatekeeper-mutating-webhook-configuration",
        "cert-manager-webhook",
        "istio-sidecar-injector",
    }
)
PROTECTED_PREFIXES = ("system:", "openshift-")


class WebhookType(StrEnum):
    """Which kind of webhook configuration to look up."""

    VALIDATING = "validating"
    MUTATING = "mutating"


class FailurePolicy(StrEnum):
    """Admission failure policies."""

    FAIL = "Fail"
    IGNORE = "Ignore"


class Params(InjectionParams):
    """The webhook configuration(s) to change and the policy to set."""

    webhook_name: ResourceName | None = Field(
        default=None, description="Name of the webhook configuration (or use webhookLabelSelector)"
    )
    webhook_label_selector: LabelSelector | None = Field(
        default=None, description="Select webhook configurations by label instead of by name"
    )
    webhook_type: WebhookType = Field(
        default=WebhookType.VALIDATING, description="validating or mutating"
    )
    action: Literal["setFailurePolicy"] = Field(
        default="setFailurePolicy", description="What to change; setFailurePolicy is the only one"
    )
    value: FailurePolicy = Field(
        default=FailurePolicy.FAIL, description="Failure policy to set: Fail or Ignore"
    )

    @field_validator("webhook_name", mode="before")
    @classmethod
    def _not_protected(cls, name: object) -> object:
        if isinstance(name, str) and (
            name in PROTECTED_WEBHOOKS or name.startswith(PROTECTED_PREFIXES)
        ):
            raise ValueError(
                f"{name!r} is a platform webhook other workloads rely on; target the operator's own"
            )
        return name

    def cross_check(self, spec: ExperimentSpec) -> Sequence[tuple[FieldPath, str]]:
        if self.webhook_name is None and self.webhook_label_selector is None:
            return [((*PARAMS, "webhookName"), "required: set webhookName or webhookLabelSelector")]
        if self.webhook_name is not None and self.webhook_label_selector is not None:
            return [
                (
                    (*PARAMS, "webhookLabelSelector"),
                    "set either webhookName or webhookLabelSelector, not both",
                )
            ]
        return []


class Entry(RecordData):
    """One webhook of the configuration and its failurePolicy before the fault."""

    name: str
    failure_policy: str | None = None


class Record(RecordData):
    """Every entry's original policy, the injected value and the configuration's uid."""

    entries: list[Entry]
    value: str
    uid: str


SPEC = TypeSpec(
    injection_type=InjectionType.WEBHOOK_DISRUPT,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Flip an admission webhook's failurePolicy (Fail/Ignore).",
    record=Record,
    access=(Access(("list", "patch")),),
    example=lambda component, namespace: {
        "webhookName": f"{component}-validating-webhook",
        "webhookType": "validating",
        "action": "setFailurePolicy",
        "value": "Ignore",
    },
)


class WebhookDisrupt:
    """Sets every entry's failurePolicy in one webhook configuration; revert restores each."""

    spec = SPEC

    @staticmethod
    def _kind(params: Params) -> str:
        if params.webhook_type is WebhookType.MUTATING:
            return "MutatingWebhookConfiguration"
        return "ValidatingWebhookConfiguration"

    async def _configs(self, kube: KubeClient, params: Params) -> list[RawObject]:
        api = "admissionregistration.k8s.io/v1"
        kind = self._kind(params)
        if params.webhook_name:
            _, obj = await targets.locate(kube, api, kind, params.webhook_name, None)
            return [obj]
        listed = await kube.list(api, kind, label_selector=params.webhook_label_selector)
        if not listed.items:
            raise targets.InjectionRefused(
                f"no {kind} matches labels {params.webhook_label_selector!r}"
            )
        return listed.items

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[None]:
        changes = []
        refs = []
        for config in await self._configs(kube, params):
            ref = ResourceRef.of(config)
            refs.append(ref)
            for hook in config.get("webhooks") or []:
                before = hook.get("failurePolicy")
                changes.append(
                    PlannedChange(
                        target=str(ref),
                        field=f"webhooks[name={hook['name']}].failurePolicy",
                        before=str(before) if before else "unset",
                        after=params.value.value,
                    )
                )
        if all(c.before == c.after for c in changes):
            raise targets.InjectionRefused(
                f"every webhook already has failurePolicy {params.value.value}: nothing to disrupt"
            )
        return Plan(footprint=Footprint(targets=tuple(refs)), changes=tuple(changes), state=None)

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[None], ledger: RunLedger
    ) -> Sequence[str]:
        done = []
        for ref in plan.footprint.targets:
            config = await kube.get(ref)
            entries = [
                Entry(name=h["name"], failure_policy=h.get("failurePolicy"))
                for h in config.get("webhooks") or []
            ]
            data = Record(entries=entries, value=params.value.value, uid=config["metadata"]["uid"])
            record = await ledger.put(ledger.new_record(self.spec.injection_type, ref, data))

            async def disrupt(ref: ResourceRef = ref) -> None:
                current = await kube.get(ref)
                ops = [
                    {
                        "op": "add",
                        "path": f"/webhooks/{i}/failurePolicy",
                        "value": params.value.value,
                    }
                    for i, _ in enumerate(current.get("webhooks") or [])
                ]
                await targets.patch_unchanged(kube, ref, current, ops)

            await targets.retry_stale(disrupt)
            await ledger.mark(record, "applied")
            done.append(
                f"set failurePolicy={params.value.value} on {len(entries)} webhook(s) of {ref}"
            )
        return done

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[None]
    ) -> Sequence[str]:
        seen: list[str] = []
        for ref in plan.footprint.targets:
            config = await kube.get_or_none(ref)
            seen.extend(
                f"{ref} webhook {hook['name']}: effective failurePolicy {hook.get('failurePolicy')}"
                for hook in (config or {}).get("webhooks") or []
            )
        return seen or ["webhook configuration is gone"]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        ref = record.target.ref
        data = record.payload(Record)
        injected = data.value
        originals = {e.name: e.failure_policy for e in data.entries}

        def outcome(action: RevertAction, detail: str = "") -> Reverted:
            return Reverted(str(ref), action, "failurePolicy", detail)

        async def restore() -> Reverted:
            config = await kube.get_or_none(ref)
            if config is None:
                return outcome(RevertAction.GONE, "nothing to restore")
            if config["metadata"]["uid"] != data.uid:
                return outcome(RevertAction.REPLACED, "a new configuration; left alone")
            ops: list[dict[str, Any]] = []
            notes = []
            left = False
            for i, hook in enumerate(config.get("webhooks") or []):
                name = hook["name"]
                if name not in originals:
                    continue  # an entry added after the fault is not ours to change
                current, original = hook.get("failurePolicy"), originals[name]
                if current == original:
                    continue
                if current != injected:
                    notes.append(f"{name} changed to {current} since the fault; left as is")
                    left = True
                    continue
                path = f"/webhooks/{i}/failurePolicy"
                ops.append(
                    {"op": "remove", "path": path}
                    if original is None
                    else {"op": "replace", "path": path, "value": original}
                )
                notes.append(f"{name}: {injected} -> {original or 'unset'}")
            if ops:
                await targets.patch_unchanged(kube, ref, config, ops)
                return outcome(RevertAction.RESTORED, "; ".join(notes))
            return outcome(RevertAction.LEFT if left else RevertAction.ALREADY, "; ".join(notes))

        return await targets.retry_stale(restore)

    def damage(self, record: RollbackRecord) -> Sequence[Damage]:
        """Restored when every entry we changed has its original failurePolicy again."""
        ref = record.target.ref
        originals = {e.name: e.failure_policy for e in record.payload(Record).entries}

        def restored(view: StateView) -> tuple[bool, str]:
            obj = view.get(ref)
            if obj is None:
                return False, "configuration deleted"
            live = {h["name"]: h.get("failurePolicy") for h in obj.get("webhooks") or []}
            ok = all(live.get(name) == policy for name, policy in originals.items())
            return ok, ", ".join(f"{n}: {p}" for n, p in live.items() if n in originals)

        return [Damage(str(ref), "failurePolicy", (ref,), restored)]


INJECTOR: Injector[Params] = WebhookDisrupt()  # annotated so mypy checks the protocol
