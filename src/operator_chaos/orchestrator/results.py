"""Run results kept on the cluster (one ConfigMap per run) so later runs can compare.

Each result is stored gzip-compressed in ``binaryData`` of ``chaos-result-<run>``, labelled
with the experiment and a short hash of its effective spec (after ``--set`` overrides), so a
run is only ever compared with earlier runs of the same experiment *as configured*. What a
listing or a comparison needs (verdict, recovery time, start time, phase) is repeated in
labels and annotations: neither parses stored bodies. Only the newest ``keep`` results of an
experiment are kept (:func:`prune`).

Size rule: the compressed body stays under :data:`MAX_COMPRESSED` (ConfigMaps are capped at
1 MiB). A result that does not fit loses its oldest events first (keeping the newest half,
then a quarter, ... down to none), then its timeline; if it still does not fit, only the
summary (verdict, times, recovery, message) is kept. The ``truncated`` annotation says what
was dropped.
"""

import base64
import gzip
import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from operator_chaos.api.v1alpha1 import ChaosExperiment, ExperimentResult
from operator_chaos.errors import OperatorChaosError
from operator_chaos.kube import errors as kube_errors
from operator_chaos.kube.port import KubeClient, RawObject, ResourceRef
from operator_chaos.safety import labels
from operator_chaos.safety.ledger import create_in_tool_namespace

ROLE = "result"
KEY = "result.json.gz"
LEGACY_KEY = "result.json"
"""Results written before compression: plain JSON in ``data``."""

SPEC_HASH = f"{labels.PREFIX}/spec-hash"
VERDICT = f"{labels.PREFIX}/verdict"
NAME = f"{labels.PREFIX}/experiment-name"
STARTED = f"{labels.PREFIX}/started-at"
RECOVERY_MS = f"{labels.PREFIX}/recovery-ms"
PHASE = f"{labels.PREFIX}/phase"
INJECTION = f"{labels.PREFIX}/injection-type"
TRUNCATED = f"{labels.PREFIX}/truncated"

MAX_COMPRESSED = 768 * 1024
"""Compressed body limit: the 1 MiB ConfigMap cap, less room for metadata."""
MAX_DECOMPRESSED = 64 * 1024 * 1024
"""A stored body never inflates beyond this (guards against a crafted ConfigMap)."""
DEFAULT_KEEP = 10
KEEP_ENV = "OPERATOR_CHAOS_KEEP_RESULTS"
HASH_LENGTH = 12
_LABEL_MAX = 63


class StoredResultError(OperatorChaosError):
    """A stored result is missing or cannot be read."""


@dataclass(frozen=True, slots=True)
class StoredRun:
    """What labels and annotations say about one stored run (no body parsed)."""

    run_id: str
    experiment: str
    spec_hash: str
    verdict: str | None
    phase: str
    recovery_ms: int | None
    started_at: datetime | None
    injection_type: str = ""
    truncated: str = ""

    def sort_key(self) -> tuple[str, str]:
        """Oldest first: start time, then the (time-sortable) run id."""
        started = self.started_at.isoformat() if self.started_at else ""
        return started, self.run_id

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``results list -o json``."""
        return {
            "runId": self.run_id,
            "experiment": self.experiment,
            "specHash": self.spec_hash,
            "verdict": self.verdict,
            "phase": self.phase,
            "recoveryMs": self.recovery_ms,
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "injectionType": self.injection_type,
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class Encoded:
    """A compressed result body and what had to be dropped to make it fit."""

    data: bytes
    truncated: str = ""


def configmap_name(run_id: str) -> str:
    return f"chaos-result-{run_id}"


def spec_hash(experiment: ChaosExperiment) -> str:
    """A short hash of what the experiment does, after ``--set`` overrides.

    Defaults are left out (so a new optional field in a later version does not split the
    history) and so is the hypothesis prose (rewording it changes nothing that runs). The
    namespace the faults act in (``metadata.namespace``, or ``-n``) is part of it when set:
    the same experiment against another namespace is another history.
    """
    spec = experiment.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    spec.get("hypothesis", {}).pop("description", None)
    if experiment.metadata.namespace:
        spec = {"metadata.namespace": experiment.metadata.namespace, "spec": spec}
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def experiment_label(name: str) -> str:
    """The experiment name as a label value: names over 63 characters are cut and suffixed
    with a hash so two long names never share a label (the full name is an annotation)."""
    if len(name) <= _LABEL_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _LABEL_MAX - 9].rstrip('-._')}-{digest}"


def _compress(result: ExperimentResult) -> bytes:
    return gzip.compress(result.model_dump_json(by_alias=True).encode(), mtime=0)


def encode(result: ExperimentResult, limit: int = MAX_COMPRESSED) -> Encoded:
    """Compress ``result``, trimming it by the module's size rule until it fits ``limit``."""
    data = _compress(result)
    if len(data) <= limit:
        return Encoded(data)
    total = len(result.events)
    keep = total // 2
    while True:
        trimmed = result.model_copy(update={"events": result.events[total - keep :]})
        data = _compress(trimmed)
        if len(data) <= limit:
            return Encoded(data, f"events: kept the last {keep} of {total}")
        if keep == 0:
            break
        keep //= 2
    dropped = f"events: kept 0 of {total}; timeline dropped"
    data = _compress(trimmed.model_copy(update={"timeline": None}))
    if len(data) <= limit:
        return Encoded(data, dropped)
    summary = ExperimentResult(
        run_id=result.run_id,
        experiment=result.experiment,
        file=result.file,
        operator=result.operator,
        component=result.component,
        tier=result.tier,
        cluster=result.cluster[:1024],
        dry_run=result.dry_run,
        verdict=result.verdict,
        phase=result.phase,
        message=result.message[:4096],
        started_at=result.started_at,
        ended_at=result.ended_at,
        duration_ms=result.duration_ms,
        recovery=result.recovery,
    )
    data = _compress(summary)
    if len(data) > limit:
        raise ValueError(f"result of run {result.run_id} does not fit in {limit} bytes")
    return Encoded(data, "only the summary was kept (the full result exceeded the size limit)")


def decode_body(data: bytes) -> ExperimentResult:
    """The inverse of :func:`encode` (refuses bodies that inflate past the guard)."""
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    raw = inflater.decompress(data, MAX_DECOMPRESSED)
    if inflater.unconsumed_tail:
        raise StoredResultError(f"stored result inflates beyond {MAX_DECOMPRESSED} bytes")
    return ExperimentResult.model_validate_json(raw)


def to_configmap(
    result: ExperimentResult, namespace: str, *, spec_hash: str, limit: int = MAX_COMPRESSED
) -> RawObject:
    """The ConfigMap that stores ``result``: compressed body, summary in metadata."""
    encoded = encode(result, limit)
    verdict = result.verdict.value if result.verdict else "None"
    annotations = {
        NAME: result.experiment,
        STARTED: result.started_at.isoformat(),
        PHASE: result.phase.value,
    }
    if result.recovery is not None and result.recovery.recovery_time_ms is not None:
        annotations[RECOVERY_MS] = str(result.recovery.recovery_time_ms)
    if result.injection is not None:
        annotations[INJECTION] = result.injection.type.value
    if encoded.truncated:
        annotations[TRUNCATED] = encoded.truncated
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(result.run_id),
            "namespace": namespace,
            "labels": labels.managed(
                result.run_id,
                ROLE,
                **{
                    labels.EXPERIMENT: experiment_label(result.experiment),
                    SPEC_HASH: spec_hash,
                    VERDICT: verdict,
                },
            ),
            "annotations": annotations,
        },
        "binaryData": {KEY: base64.b64encode(encoded.data).decode("ascii")},
    }


def decode(cm: RawObject) -> ExperimentResult:
    """The stored result of a ``chaos-result-*`` ConfigMap (compressed or legacy plain)."""
    name = cm.get("metadata", {}).get("name", "?")
    try:
        packed = (cm.get("binaryData") or {}).get(KEY)
        if packed is not None:
            return decode_body(base64.b64decode(packed))
        plain = (cm.get("data") or {}).get(LEGACY_KEY)
        if plain is not None:
            return ExperimentResult.model_validate_json(plain)
    except (ValueError, zlib.error, EOFError) as exc:
        raise StoredResultError(f"ConfigMap {name}: stored result is unreadable: {exc}") from exc
    raise StoredResultError(f"ConfigMap {name} holds no stored result")


def summary(cm: RawObject) -> StoredRun:
    """What ``cm``'s metadata says about its run; legacy results are parsed once instead."""
    meta = cm.get("metadata", {})
    labelled: dict[str, str] = meta.get("labels") or {}
    notes: dict[str, str] = meta.get("annotations") or {}
    if STARTED not in notes:
        try:
            return _summary_of_body(decode(cm), labelled.get(SPEC_HASH, ""))
        except StoredResultError:
            pass
    verdict = labelled.get(VERDICT)
    recovery = notes.get(RECOVERY_MS, "")
    return StoredRun(
        run_id=labelled.get(labels.RUN, meta.get("name", "").removeprefix("chaos-result-")),
        experiment=notes.get(NAME) or labelled.get(labels.EXPERIMENT, ""),
        spec_hash=labelled.get(SPEC_HASH, ""),
        verdict=None if verdict in (None, "None") else verdict,
        phase=notes.get(PHASE, ""),
        recovery_ms=int(recovery) if recovery.isdigit() else None,
        started_at=_parse_time(notes.get(STARTED) or meta.get("creationTimestamp")),
        injection_type=notes.get(INJECTION, ""),
        truncated=notes.get(TRUNCATED, ""),
    )


def summary_of(result: ExperimentResult) -> StoredRun:
    """The same summary for a result read from a report file."""
    return _summary_of_body(result, "")


def _summary_of_body(result: ExperimentResult, hash_: str) -> StoredRun:
    return StoredRun(
        run_id=result.run_id,
        experiment=result.experiment,
        spec_hash=hash_,
        verdict=result.verdict.value if result.verdict else None,
        phase=result.phase.value,
        recovery_ms=result.recovery.recovery_time_ms if result.recovery else None,
        started_at=result.started_at,
        injection_type=result.injection.type.value if result.injection else "",
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def prunable(runs: Sequence[StoredRun], keep: int) -> list[StoredRun]:
    """The runs to delete so that only the newest ``keep`` remain (oldest first)."""
    ordered = sorted(runs, key=StoredRun.sort_key)
    return ordered[: max(0, len(ordered) - max(0, keep))]


def _selector(experiment: str | None, hash_: str | None) -> str:
    parts = [f"{labels.MANAGED_BY}={labels.MANAGED_BY_VALUE}", f"{labels.ROLE}={ROLE}"]
    if experiment is not None:
        parts.append(f"{labels.EXPERIMENT}={experiment_label(experiment)}")
    if hash_ is not None:
        parts.append(f"{SPEC_HASH}={hash_}")
    return ",".join(parts)


async def store(
    kube: KubeClient, namespace: str, result: ExperimentResult, *, spec_hash: str
) -> None:
    """Write ``chaos-result-<run>`` (replacing one of the same run id)."""
    cm = to_configmap(result, namespace, spec_hash=spec_hash)
    try:
        await create_in_tool_namespace(kube, cm)
    except kube_errors.Conflict:
        await kube.replace(cm)


async def list_runs(
    kube: KubeClient,
    namespace: str,
    experiment: str | None = None,
    spec_hash: str | None = None,
) -> list[StoredRun]:
    """Stored runs (all, of one experiment, or of one experiment as configured), oldest first."""
    try:
        listed = await kube.list(
            "v1", "ConfigMap", namespace, label_selector=_selector(experiment, spec_hash)
        )
    except kube_errors.NotFound:
        return []
    runs = [summary(cm) for cm in listed.items]
    if experiment is not None:  # a cut label could match another long name's prefix
        runs = [r for r in runs if r.experiment == experiment]
    return sorted(runs, key=StoredRun.sort_key)


def latest_like(runs: Sequence[StoredRun], spec_hash: str) -> StoredRun | None:
    """The newest complete run in ``runs`` with the same effective spec, if any."""
    complete = [r for r in runs if r.phase != "Aborted" and r.spec_hash == spec_hash]
    return sorted(complete, key=StoredRun.sort_key)[-1] if complete else None


async def previous(
    kube: KubeClient, namespace: str, experiment: str, spec_hash: str
) -> StoredRun | None:
    """The newest stored run of ``experiment`` with the same effective spec, if any."""
    return latest_like(await list_runs(kube, namespace, experiment, spec_hash), spec_hash)


async def prune(
    kube: KubeClient,
    namespace: str,
    experiment: str,
    keep: int,
    known: Sequence[StoredRun] | None = None,
) -> list[str]:
    """Delete all but the newest ``keep`` results of ``experiment``; return the run ids.

    ``known``: the runs already listed by the caller (saves a LIST per run)."""
    runs = list(known) if known is not None else await list_runs(kube, namespace, experiment)
    doomed = prunable(runs, keep)
    for run in doomed:
        await kube.delete(ResourceRef("v1", "ConfigMap", configmap_name(run.run_id), namespace))
    return [run.run_id for run in doomed]


async def fetch(kube: KubeClient, namespace: str, run_id: str) -> RawObject:
    """The ConfigMap that stores one run (a clear error when there is none)."""
    ref = ResourceRef("v1", "ConfigMap", configmap_name(run_id), namespace)
    cm = await kube.get_or_none(ref)
    if cm is None or (cm["metadata"].get("labels") or {}).get(labels.ROLE) != ROLE:
        raise StoredResultError(
            f"no stored result for run {run_id!r} in namespace {namespace!r}"
            " (see `operator-chaos results list`)"
        )
    return cm


async def load(kube: KubeClient, namespace: str, run_id: str) -> ExperimentResult:
    """The full stored result of one run."""
    return decode(await fetch(kube, namespace, run_id))
