"""WebhookLatency: register a slow admission webhook in front of the chosen resources.

Breaks: every create/update of those resources in the target namespace waits for the delay,
as a struggling webhook would make them, so the operator's writes time out or crawl. The
webhook is served by the ``run`` process itself on a loopback port (see
:mod:`operator_chaos.injection.latency_server`) with ``failurePolicy: Ignore``; revert deletes
the webhook configuration and stops the server.
"""

from __future__ import annotations

import base64
import contextlib
import math
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field

from operator_chaos.api.v1alpha1 import (
    DangerLevel,
    Duration,
    InjectionType,
    PlannedChange,
    RecoveryModel,
)
from operator_chaos.injection import created, targets
from operator_chaos.injection.base import Access, InjectionParams, TypeSpec
from operator_chaos.injection.fields import CommaList
from operator_chaos.injection.protocol import InjectionFailed, Injector, Plan, Reverted, Scope
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety.policy import Footprint

# The endpoint (latency_server: cryptography, asyncio, ssl) is imported where the fault runs, so
# that `validate`, which needs only the parameters and the spec, does not pay for it.
if TYPE_CHECKING:
    from operator_chaos.injection import latency_server
    from operator_chaos.safety.ledger import RollbackRecord, RunLedger

MIN_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(seconds=29)
DEFAULT_DELAY = timedelta(seconds=25)  # the reference's default
NAME_PREFIX = "chaos-webhook-latency-"
NEVER_RESOURCES = frozenset(
    {
        "chaosexperiments",
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    }
)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
CALL_WAIT = 5.0
MEASURE_UP_TO = 12.0  # the tool's API client gives up after 15 s


class Params(InjectionParams):
    """Which requests to slow down and by how much."""

    resources: CommaList = Field(
        description="Comma-separated plural resource names to intercept, e.g. deployments,services"
    )
    api_groups: CommaList = Field(
        description="Comma-separated API groups of those resources, e.g. apps, core or *"
    )
    delay: Duration = Field(
        default=DEFAULT_DELAY,
        ge=MIN_DELAY,
        le=MAX_DELAY,
        description="Delay per request, 1s to 29s (the API server gives up at 30s); default 25s",
    )

    def timeout_seconds(self) -> int:
        """The webhook's timeoutSeconds: the delay plus a second, at most 30 (the API's cap)."""
        return min(30, math.ceil(self.delay.total_seconds()) + 1)


SPEC = TypeSpec(
    injection_type=InjectionType.WEBHOOK_LATENCY,
    recovery_model=RecoveryModel.CONDITION,
    danger=DangerLevel.HIGH,
    params=Params,
    summary="Slow every write to the chosen resources with a delaying admission webhook.",
    record=created.CreatedRecord,
    access=(Access(("create", "delete"), why="WebhookLatency registers and removes its webhook"),),
    example=lambda component, namespace: {
        "resources": "configmaps",
        "apiGroups": "core",
        "delay": "5s",
    },
)


def _groups(params: Params) -> list[str]:
    """The rule's API groups; ``core`` names the core group (written "" in a rule, which a
    comma-separated parameter cannot hold)."""
    return ["" if group == "core" else group for group in params.api_groups]


def _api_server_is_local(kube: KubeClient) -> bool:
    return (urlsplit(kube.server).hostname or "") in LOOPBACK


async def _resource(kube: KubeClient, group: str, resource: str) -> tuple[str, str, bool] | None:
    """``(apiVersion, kind, namespaced)`` of a plural resource by discovery (``None`` when
    the group or resource is not served)."""
    try:
        if group:
            info = await kube.raw("GET", f"/apis/{group}")
            version = info["preferredVersion"]["groupVersion"]
            listing = await kube.raw("GET", f"/apis/{version}")
        else:
            version = "v1"
            listing = await kube.raw("GET", "/api/v1")
    except (kube_errors.KubeError, KeyError, TypeError):
        return None
    for entry in listing.get("resources") or []:
        if entry.get("name") == resource:
            return version, str(entry["kind"]), bool(entry.get("namespaced"))
    return None


def _base(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


class WebhookLatency(created.CreatedFault[Params]):
    """Serves a delaying webhook from this process and registers it for the hold."""

    spec = SPEC
    what = "delaying webhook"

    def ref(self, params: Params, scope: Scope) -> ResourceRef:
        return ResourceRef(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            f"{NAME_PREFIX}{scope.run_id}",
        )

    def summary(self, params: Params) -> str:
        groups = ",".join(g or "core" for g in _groups(params))
        return (
            f"delay {params.delay.total_seconds():g}s on CREATE/UPDATE of"
            f" {','.join(params.resources)} (groups {groups}),"
            f" failurePolicy Ignore, timeoutSeconds {params.timeout_seconds()}"
        )

    def _webhook(
        self, params: Params, namespace: str, server: latency_server.LatencyServer
    ) -> RawObject:
        return {
            "webhooks": [
                {
                    "name": "latency.chaos.operatorchaos.io",
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Ignore",
                    "timeoutSeconds": params.timeout_seconds(),
                    "clientConfig": {
                        "url": server.url,
                        "caBundle": base64.b64encode(server.ca_pem).decode(),
                    },
                    # Only the target namespace, and only namespaced resources: the reference
                    # slows these resources in every namespace.
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": namespace}
                    },
                    "rules": [
                        {
                            "apiGroups": _groups(params),
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": list(params.resources),
                            "scope": "Namespaced",
                        }
                    ],
                }
            ]
        }

    async def plan(self, kube: KubeClient, params: Params, scope: Scope) -> Plan[None]:
        namespace = targets.need_namespace(scope, "WebhookLatency")
        if not _api_server_is_local(kube):
            raise targets.InjectionRefused(
                f"WebhookLatency serves its delaying webhook from this process on 127.0.0.1,"
                f" and the API server at {kube.server} cannot reach this machine's loopback;"
                " the reference deploys a webhook image, Service and TLS Secret into the"
                " namespace instead, which this tool does not do: run it against a local"
                " control plane (operator-chaos sandbox)"
            )
        forbidden = sorted(NEVER_RESOURCES & set(params.resources))
        if forbidden:
            raise targets.InjectionRefused(
                f"WebhookLatency never intercepts {', '.join(forbidden)}: slowing them would"
                " slow the tool's own experiments and admission configuration"
            )
        groups = _groups(params)
        for resource in params.resources:
            if resource == "*" or "*" in groups:
                continue
            name = resource.partition("/")[0]  # a subresource is checked by its resource
            found = [f for g in groups if (f := await _resource(kube, g, name)) is not None]
            if not found:
                raise targets.InjectionRefused(
                    f"the API server serves no resource {name!r} in group(s)"
                    f" {', '.join(g or 'core' for g in groups)}: check resources and apiGroups"
                )
            if not any(namespaced for _, _, namespaced in found):
                raise targets.InjectionRefused(
                    f"{name} is cluster-scoped: a delaying webhook on it would slow every"
                    " tenant; WebhookLatency only slows namespaced resources in the target"
                    " namespace"
                )
        ref = self.ref(params, scope)
        await created.ensure_free(kube, ref)
        return Plan(
            footprint=Footprint(targets=(ref,), namespaces=frozenset({namespace})),
            changes=(
                PlannedChange(
                    target=str(ref),
                    field="(object)",
                    before="absent",
                    after=f"{self.summary(params)}, in namespace {namespace}; served by this"
                    " process on 127.0.0.1 for the hold",
                ),
            ),
            state=None,
        )

    async def inject(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Any], ledger: RunLedger
    ) -> Sequence[str]:
        from operator_chaos.injection import latency_server

        namespace = targets.need_namespace(scope, "WebhookLatency")
        server = await latency_server.serve(scope.run_id, params.delay.total_seconds())
        ref = self.ref(params, scope)
        try:
            await created.create(
                kube,
                ledger,
                str(self.spec.injection_type),
                ref,
                scope,
                self._webhook(params, namespace, server),
                self.record,
            )
        except BaseException:
            await latency_server.stop(scope.run_id)
            raise
        return [f"created {ref}: {self.summary(params)}, served at {server.url}"]

    async def confirm(
        self, kube: KubeClient, params: Params, scope: Scope, plan: Plan[Any]
    ) -> Sequence[str]:
        from operator_chaos.injection import latency_server

        namespace = targets.need_namespace(scope, "WebhookLatency")
        ref = self.ref(params, scope)
        await created.read_ours(kube, ref, scope.run_id)
        server = latency_server.running(scope.run_id)
        if server is None:
            raise InjectionFailed(f"{ref}: its endpoint is not running in this process")
        lines = [f"{ref} is registered; endpoint {server.url}"]
        lines.extend(await self._probe(kube, params, namespace, server))
        return lines

    async def _probe(
        self,
        kube: KubeClient,
        params: Params,
        namespace: str,
        server: latency_server.LatencyServer,
    ) -> list[str]:
        """A dry-run update (no change) of an existing matching object: the API server must
        call the endpoint, and the request must take the delay."""
        import asyncio

        for group in _groups(params):
            for resource in params.resources:
                if "*" in (group, resource) or "/" in resource:
                    continue
                found = await _resource(kube, group, resource)
                if found is None or not found[2]:
                    continue
                api_version, kind, _ = found
                path = f"{_base(api_version)}/namespaces/{namespace}/{resource}"
                listing = await kube.raw("GET", f"{path}?limit=1")
                items = listing.get("items") or []
                if not items:
                    continue
                obj = {**items[0], "apiVersion": api_version, "kind": kind}
                name = obj["metadata"]["name"]
                before = len(server.calls)
                started = time.monotonic()
                probe = asyncio.ensure_future(kube.raw("PUT", f"{path}/{name}?dryRun=All", obj))
                try:
                    if not await server.wait_call(before, CALL_WAIT):
                        raise InjectionFailed(
                            f"the API server did not call the webhook at {server.url} for a"
                            f" dry-run update of {resource}/{name}: it cannot reach this"
                            " process, so the fault is NOT on"
                        )
                    if params.delay.total_seconds() > MEASURE_UP_TO:
                        return [
                            f"the API server called the webhook for a dry-run update of"
                            f" {resource}/{name}; it is held for"
                            f" {params.delay.total_seconds():g}s"
                        ]
                    with contextlib.suppress(kube_errors.KubeError):
                        await probe
                    took = time.monotonic() - started
                    return [
                        f"a dry-run update of {resource}/{name} took {took:.1f}s"
                        f" (delay {params.delay.total_seconds():g}s); the webhook was called"
                    ]
                finally:
                    if not probe.done():
                        probe.cancel()
                        with contextlib.suppress(BaseException):
                            await probe
        return [
            f"no existing {','.join(params.resources)} in {namespace} to probe with; the next"
            " create or update there waits for the delay"
        ]

    async def revert(self, kube: KubeClient, record: RollbackRecord) -> Reverted:
        from operator_chaos.injection import latency_server

        outcome = await created.remove(kube, record, self.record)
        await latency_server.stop(record.payload(self.record).run_id)
        return outcome


INJECTOR: Injector[Params] = WebhookLatency()  # annotated so mypy checks the protocol
