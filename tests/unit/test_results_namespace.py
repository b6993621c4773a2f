"""History is kept per experiment *as run*: ``-n`` (metadata.namespace) is part of it."""

import hashlib
import json
from pathlib import Path

from operator_chaos.cli import common
from operator_chaos.load.experiments import load_file
from operator_chaos.orchestrator import results

SEED = Path(__file__).resolve().parents[2] / "experiments" / "training-operator" / "pod-kill.yaml"


def test_another_namespace_is_another_history() -> None:
    loaded = load_file(SEED)
    (plain,) = loaded
    (team_a,) = common.in_namespace(loaded, "team-a")
    (team_b,) = common.in_namespace(loaded, "team-b")
    hashes = {results.spec_hash(i.experiment) for i in (plain, team_a, team_b)}
    assert len(hashes) == 3
    # Unchanged for an experiment without a namespace: existing histories stay joined.
    spec = plain.experiment.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    spec["hypothesis"].pop("description")
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert (
        results.spec_hash(plain.experiment) == hashlib.sha256(canonical.encode()).hexdigest()[:12]
    )
