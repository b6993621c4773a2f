"""Which files a FILE|DIR argument stands for (the walk `validate`, `suite` and `docs` share)."""

import os
from pathlib import Path

from operator_chaos.load.sources import expand


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("kind: ChaosExperiment\n", encoding="utf-8")
    return path


def test_a_directory_yields_its_yaml_files_sorted_and_recursively(tmp_path: Path) -> None:
    wanted = [
        _touch(tmp_path / "b.yaml"),
        _touch(tmp_path / "a" / "z.yml"),
        _touch(tmp_path / "a" / "deeper" / "y.yaml"),
    ]
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / "a" / "README.md")
    assert expand([tmp_path]) == sorted(wanted)


def test_hidden_files_and_directories_are_skipped(tmp_path: Path) -> None:
    kept = _touch(tmp_path / "kept.yaml")
    _touch(tmp_path / ".hidden.yaml")
    _touch(tmp_path / ".git" / "config.yaml")
    _touch(tmp_path / "sub" / ".cache" / "x.yaml")
    assert expand([tmp_path]) == [kept]


def test_files_are_kept_as_given_and_repeats_dropped(tmp_path: Path) -> None:
    one = _touch(tmp_path / "one.yaml")
    text = _touch(tmp_path / "two.txt")
    missing = tmp_path / "missing.yaml"
    assert expand([text, missing, one, tmp_path, one]) == [text, missing, one]


def test_a_symlink_loop_cannot_trap_the_walk(tmp_path: Path) -> None:
    kept = _touch(tmp_path / "a" / "kept.yaml")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    assert expand([tmp_path]) == [kept]


def test_special_files_in_a_directory_are_not_picked_up(tmp_path: Path) -> None:
    kept = _touch(tmp_path / "kept.yaml")
    os.mkfifo(tmp_path / "pipe.yaml")
    assert expand([tmp_path]) == [kept]
