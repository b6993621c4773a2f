"""Results are stored on the cluster too (one ConfigMap per run) so later runs can compare."""

from operator_chaos.api.v1alpha1 import ExperimentResult
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject
from operator_chaos.safety import labels
from operator_chaos.safety.ledger import create_in_tool_namespace

MAX_BYTES = 900 * 1024  # ConfigMaps hold at most 1 MiB


def configmap_name(run_id: str) -> str:
    return f"chaos-result-{run_id}"


async def store(kube: KubeClient, namespace: str, result: ExperimentResult) -> None:
    """Write ``chaos-result-<run>``; events are trimmed if the result would not fit."""
    body = result.model_dump_json(by_alias=True)
    if len(body) > MAX_BYTES:
        body = result.model_copy(update={"events": result.events[-50:]}).model_dump_json(
            by_alias=True
        )
    verdict = result.verdict.value if result.verdict else "None"
    cm: RawObject = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(result.run_id),
            "namespace": namespace,
            "labels": labels.managed(
                result.run_id,
                "result",
                **{labels.EXPERIMENT: result.experiment[:63], f"{labels.PREFIX}/verdict": verdict},
            ),
        },
        "data": {"result.json": body},
    }
    try:
        await create_in_tool_namespace(kube, cm)
    except kube_errors.Conflict:
        await kube.replace(cm)


async def history(kube: KubeClient, namespace: str, experiment: str) -> list[ExperimentResult]:
    """Earlier results of ``experiment`` stored on the cluster, oldest first."""
    try:
        listed = await kube.list(
            "v1",
            "ConfigMap",
            namespace,
            label_selector=f"{labels.ROLE}=result,{labels.EXPERIMENT}={experiment[:63]}",
        )
    except kube_errors.NotFound:
        return []
    found = [
        ExperimentResult.model_validate_json(cm["data"]["result.json"])
        for cm in listed.items
        if "result.json" in (cm.get("data") or {})
    ]
    return sorted(found, key=lambda r: r.started_at)
