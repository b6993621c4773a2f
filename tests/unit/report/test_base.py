"""The format registry and write_reports: files, names, atomic replacement, refusals."""

import json
import os
from pathlib import Path

import pytest

from operator_chaos.errors import UsageError
from operator_chaos.report import base
from operator_chaos.report.base import FORMATS, write_reports
from report.factory import make_result, make_suite, mixed_suite


def test_registry_has_the_four_file_formats() -> None:
    assert list(FORMATS) == ["json", "junit", "markdown", "html"]
    assert {name: reporter.extension for name, reporter in FORMATS.items()} == {
        "json": ".json",
        "junit": ".xml",
        "markdown": ".md",
        "html": ".html",
    }
    for name, reporter in FORMATS.items():
        assert reporter.name == name
        assert reporter.render(make_suite()).endswith("\n")


def test_writes_one_file_per_format_into_a_new_directory(tmp_path: Path) -> None:
    suite = mixed_suite()
    directory = tmp_path / "nested" / "reports"
    paths = write_reports(suite, directory, ["junit", "html", "json", "markdown"])
    names = [
        "operator-chaos-report.xml",
        "operator-chaos-report.html",
        "operator-chaos-report.json",
        "operator-chaos-report.md",
    ]
    assert paths == [directory / name for name in names]
    assert sorted(os.listdir(directory)) == sorted(names)  # no temporary files left behind
    for path, name in zip(paths, ["junit", "html", "json", "markdown"], strict=True):
        assert path.read_text(encoding="utf-8") == FORMATS[name].render(suite)


def test_custom_stem_and_duplicate_formats(tmp_path: Path) -> None:
    paths = write_reports(make_suite(), tmp_path, ["json", "json"], stem="nightly")
    assert paths == [tmp_path / "nightly.json"]


def test_existing_report_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "operator-chaos-report.md"
    target.write_text("stale", encoding="utf-8")
    write_reports(make_suite(make_result()), tmp_path, ["markdown"])
    assert "pod-kill" in target.read_text(encoding="utf-8")


def test_files_are_written_as_utf8(tmp_path: Path) -> None:
    (path,) = write_reports(make_suite(make_result(message="日本 🚀")), tmp_path, ["json"])
    assert "日本 🚀" in path.read_bytes().decode("utf-8")


def test_lone_surrogates_do_not_lose_the_report(tmp_path: Path) -> None:
    suite = make_suite(make_result(message="bad \ud800 text"))
    paths = write_reports(suite, tmp_path, list(FORMATS))
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert data["results"][0]["message"] == "bad \ud800 text"
    assert "bad \\ud800 text" in paths[2].read_text(encoding="utf-8")


def test_unknown_format_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown report format 'pdf': choose from json, junit"):
        write_reports(make_suite(), tmp_path / "out", ["json", "pdf"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stem", ["", "../escape", "a/b", ".."])
def test_stem_must_be_a_file_name(tmp_path: Path, stem: str) -> None:
    with pytest.raises(UsageError, match="stem"):
        write_reports(make_suite(), tmp_path, ["json"], stem=stem)


def test_failed_replace_keeps_the_old_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "operator-chaos-report.json"
    target.write_text("previous", encoding="utf-8")

    def broken_replace(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(base.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_reports(make_suite(), tmp_path, ["json"])
    assert target.read_text(encoding="utf-8") == "previous"
    assert os.listdir(tmp_path) == ["operator-chaos-report.json"]
