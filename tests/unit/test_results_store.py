"""The pure side of stored results: spec hash, compact encoding, size rule, retention.

Cluster behaviour (create, list by label, prune) is tested against the sandbox in
tests/cluster/test_results.py.
"""

import base64
import gzip
import json
import random
import string
from datetime import timedelta
from pathlib import Path

import pytest
from report.factory import at, make_result

from operator_chaos.api.v1alpha1 import ExperimentEvent, Phase
from operator_chaos.load import overrides
from operator_chaos.load.experiments import load_text
from operator_chaos.orchestrator import results
from operator_chaos.orchestrator.results import StoredRun

REPO = Path(__file__).resolve().parents[2]
POD_KILL = REPO / "experiments" / "training-operator" / "pod-kill.yaml"
CONFIGMAP_LIMIT = 1024 * 1024


def hash_with(*sets: str, text: str | None = None) -> str:
    source = POD_KILL.read_text() if text is None else text
    (loaded,) = load_text(overrides.apply(source, list(sets), str(POD_KILL)), POD_KILL)
    return results.spec_hash(loaded.experiment)


# -- spec hash -----------------------------------------------------------------------------


def test_spec_hash_is_short_stable_and_label_safe() -> None:
    first, second = hash_with(), hash_with()
    assert first == second
    assert len(first) == results.HASH_LENGTH
    assert all(c in string.hexdigits for c in first)


def test_an_override_that_changes_behaviour_changes_the_hash() -> None:
    plain = hash_with()
    assert hash_with("spec.hypothesis.recoveryTimeout=30s") != plain
    assert hash_with("spec.steadyState.timeout=10s") != plain
    assert hash_with("spec.hypothesis.recoveryTimeout=30s") == hash_with(
        "spec.hypothesis.recoveryTimeout=30s"
    )


def test_overrides_that_change_nothing_keep_the_hash() -> None:
    plain = hash_with()
    # the same duration written differently, a default set explicitly, reworded prose
    assert hash_with("spec.hypothesis.recoveryTimeout=2m") == plain
    assert hash_with("spec.injection.count=1") == plain
    assert hash_with("spec.hypothesis.description=Reworded, same experiment.") == plain


def test_the_name_is_not_part_of_the_spec_hash() -> None:
    renamed = POD_KILL.read_text().replace("name: training-operator-pod-kill", "name: another-name")
    assert hash_with(text=renamed) == hash_with()


# -- labels --------------------------------------------------------------------------------


def test_experiment_label_keeps_short_names_and_disambiguates_long_ones() -> None:
    assert results.experiment_label("training-operator-pod-kill") == "training-operator-pod-kill"
    one, two = "x" * 70 + "-one", "x" * 70 + "-two"
    assert len(results.experiment_label(one)) <= 63
    assert results.experiment_label(one) != results.experiment_label(two)


# -- encoding ------------------------------------------------------------------------------


def noisy_events(count: int, size: int = 400) -> list[ExperimentEvent]:
    """Events with random text, so gzip cannot shrink them away."""
    rng = random.Random(7)
    return [
        ExperimentEvent(
            timestamp=at(i / 1000),
            phase=Phase.OBSERVING,
            action="watch",
            target=f"Pod ns/pod-{i}",
            message="".join(rng.choices(string.ascii_letters + string.digits, k=size)),
        )
        for i in range(count)
    ]


def test_encoding_round_trips_and_is_deterministic() -> None:
    result = make_result()
    encoded = results.encode(result)
    assert encoded.truncated == ""
    assert results.decode_body(encoded.data) == result
    assert results.encode(result).data == encoded.data


def test_oldest_events_are_dropped_first_until_it_fits() -> None:
    events = noisy_events(400)
    result = make_result(events=events)
    limit = 40_000
    assert len(results.encode(result, limit=10**9).data) > limit

    encoded = results.encode(result, limit=limit)

    assert len(encoded.data) <= limit
    kept = results.decode_body(encoded.data).events
    assert 0 < len(kept) < len(events)
    assert kept == events[-len(kept) :]
    assert encoded.truncated == f"events: kept the last {len(kept)} of 400"


def test_a_result_too_big_even_without_events_keeps_only_its_summary() -> None:
    huge = make_result(
        events=noisy_events(10),
        deviations=["".join(random.Random(1).choices(string.ascii_letters, k=50_000))],
    )
    encoded = results.encode(huge, limit=5_000)
    assert encoded.truncated.startswith("only the summary was kept")
    back = results.decode_body(encoded.data)
    assert (back.run_id, back.verdict, back.recovery) == (huge.run_id, huge.verdict, huge.recovery)
    assert back.deviations == []
    assert back.events == []
    with pytest.raises(ValueError, match="does not fit"):
        results.encode(huge, limit=50)


def test_a_result_that_used_to_need_900_kib_fits_a_configmap() -> None:
    result = make_result(events=noisy_events(3000))
    assert len(result.model_dump_json(by_alias=True)) > CONFIGMAP_LIMIT
    cm = results.to_configmap(result, "operator-chaos", spec_hash="0123456789ab")
    assert len(json.dumps(cm)) < CONFIGMAP_LIMIT * 1.4  # base64 on the wire
    payload = base64.b64decode(cm["binaryData"][results.KEY])
    assert len(payload) <= results.MAX_COMPRESSED


def test_inflating_past_the_guard_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "MAX_DECOMPRESSED", 1000)
    with pytest.raises(results.StoredResultError, match="inflates beyond"):
        results.decode_body(gzip.compress(b"\0" * 100_000))


# -- the ConfigMap and its metadata ----------------------------------------------------------


def test_the_configmap_carries_the_summary_in_metadata() -> None:
    result = make_result("pod-kill")
    cm = results.to_configmap(result, "operator-chaos", spec_hash="0123456789ab")
    meta = cm["metadata"]
    assert meta["name"] == f"chaos-result-{result.run_id}"
    assert meta["labels"]["chaos.operatorchaos.io/role"] == "result"
    assert meta["labels"]["chaos.operatorchaos.io/experiment"] == "pod-kill"
    assert meta["labels"]["chaos.operatorchaos.io/spec-hash"] == "0123456789ab"
    assert meta["labels"]["chaos.operatorchaos.io/verdict"] == "Resilient"
    assert "data" not in cm

    # The summary comes from metadata alone: a body that cannot be read does not matter.
    cm["binaryData"][results.KEY] = base64.b64encode(b"not gzip").decode()
    stored = results.summary(cm)
    assert stored == StoredRun(
        run_id=result.run_id,
        experiment="pod-kill",
        spec_hash="0123456789ab",
        verdict="Resilient",
        phase="Complete",
        recovery_ms=result.recovery.recovery_time_ms if result.recovery else None,
        started_at=result.started_at,
        injection_type=result.injection.type.value if result.injection else "",
    )
    with pytest.raises(results.StoredResultError, match="unreadable"):
        results.decode(cm)


def test_results_stored_by_earlier_versions_still_read() -> None:
    result = make_result()
    legacy = {
        "metadata": {
            "name": f"chaos-result-{result.run_id}",
            "labels": {"chaos.operatorchaos.io/verdict": "Resilient"},
        },
        "data": {"result.json": result.model_dump_json(by_alias=True)},
    }
    assert results.decode(legacy) == result
    stored = results.summary(legacy)
    assert (stored.run_id, stored.verdict, stored.spec_hash) == (result.run_id, "Resilient", "")
    assert stored.started_at == result.started_at


# -- retention -----------------------------------------------------------------------------


def stored_run(run_id: str, minutes: int) -> StoredRun:
    return StoredRun(
        run_id=run_id,
        experiment="pod-kill",
        spec_hash="h",
        verdict="Resilient",
        phase="Complete",
        recovery_ms=100,
        started_at=at(0) + timedelta(minutes=minutes),
    )


def test_retention_keeps_the_newest_by_start_time() -> None:
    runs = [stored_run("c", 3), stored_run("a", 1), stored_run("e", 5), stored_run("b", 2)]
    runs.append(stored_run("d", 4))
    assert [r.run_id for r in results.prunable(runs, 2)] == ["a", "b", "c"]
    assert [r.run_id for r in results.prunable(runs, 1)] == ["a", "b", "c", "d"]
    assert results.prunable(runs, 5) == []
    assert results.prunable(runs, 10) == []
    assert len(results.prunable(runs, 0)) == 5
