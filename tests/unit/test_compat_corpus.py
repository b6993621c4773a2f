"""The reference implementation's experiments must all load: the formats are compatible.

The corpus lives outside the repository (``../shared/compat/operator-chaos`` relative to it);
``OPERATOR_CHAOS_COMPAT_DIR`` points elsewhere. Every ``kind: ChaosExperiment`` document under
``experiments/`` and ``profiles/*/experiments/`` validates; none had to be special-cased.
"""

import os
from pathlib import Path

import pytest
import yaml

from operator_chaos.load.experiments import load_file

REPO = Path(__file__).parents[2]
CORPUS = Path(
    os.environ.get(
        "OPERATOR_CHAOS_COMPAT_DIR", REPO.parent / "shared" / "compat" / "operator-chaos"
    )
)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = [
        *CORPUS.glob("experiments/**/*.yaml"),
        *CORPUS.glob("profiles/*/experiments/**/*.yaml"),
    ]
    return sorted(found)


FILES = corpus_files()
needs_corpus = pytest.mark.skipif(
    not FILES, reason=f"compat corpus not found at {CORPUS} (set OPERATOR_CHAOS_COMPAT_DIR)"
)


def experiment_documents(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        documents = list(yaml.safe_load_all(handle))
    return sum(1 for d in documents if isinstance(d, dict) and d.get("kind") == "ChaosExperiment")


@needs_corpus
def test_corpus_is_not_trivially_small() -> None:
    assert len(FILES) > 100


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_experiment_loads(path: Path) -> None:
    loaded = load_file(path)
    assert len(loaded) == experiment_documents(path)
    assert all(item.path == path for item in loaded)
