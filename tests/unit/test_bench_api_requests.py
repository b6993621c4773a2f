"""The request counter of benchmarks/api_requests.py: a wrong parse is a wrong figure.

The benchmark is a script, not a package module, so it is loaded from its path.
"""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "api_requests.py"
    if str(path.parent) not in sys.path:  # as when run as a script: its folder comes first
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("bench_api_requests", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load()

# A body that holds what looks like a request line at its start and after a CRLF.
_FAKE = b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n"
_BODY = b'{"data": "' + _FAKE + b'"}'
_STREAM = (
    b"GET /api/v1/namespaces/a/pods?watch=1 HTTP/1.1\r\nHost: h\r\n\r\n"
    b"POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nContent-Length: "
    + str(len(_BODY)).encode()
    + b"\r\nContent-Type: application/json\r\n\r\n"
    + _BODY
    + b"\r\n"  # a stray empty line between requests is allowed
    b"PATCH /apis/apps/v1/namespaces/a/deployments/d HTTP/1.1\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nGET /\r\n" + hex(len(_FAKE))[2:].encode() + b"\r\n" + _FAKE + b"\r\n"
    b"0\r\nX-Trailer: t\r\n\r\n"
    b"DELETE /api/v1/namespaces/a/pods/p HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
)
_EXPECTED = [
    ("GET", "/api/v1/namespaces/a/pods?watch=1"),
    ("POST", "/api/v1/namespaces/a/configmaps"),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d"),
    ("DELETE", "/api/v1/namespaces/a/pods/p"),
]


def _lines(pieces: list[bytes]) -> list[tuple[str, str]]:
    parser = bench.RequestStreamParser()
    return [(r.method, r.target) for piece in pieces for r in parser.feed(piece)]


def test_bodies_are_skipped_whole_stream() -> None:
    assert _lines([_STREAM]) == _EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_bodies_are_skipped_in_any_split(size: int) -> None:
    pieces = [_STREAM[i : i + size] for i in range(0, len(_STREAM), size)]
    assert _lines(pieces) == _EXPECTED


def test_request_is_counted_once_its_head_is_complete() -> None:
    parser = bench.RequestStreamParser()
    assert parser.feed(b"GET /api HTTP/1.1\r\nHost: h\r\n") == []
    assert [r.target for r in parser.feed(b"\r\n")] == ["/api"]


@pytest.mark.parametrize(
    "stream",
    [
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /x HTTP/1.1\r\nno colon here\r\n\r\n",
    ],
)
def test_malformed_streams_are_refused(stream: bytes) -> None:
    with pytest.raises(bench.ProtocolError):
        bench.RequestStreamParser().feed(stream)


def test_nothing_is_counted_after_an_upgrade() -> None:
    parser = bench.RequestStreamParser()
    upgrade = b"GET /api/v1/namespaces/a/pods/p/exec HTTP/1.1\r\nConnection: Upgrade\r\n\r\n"
    assert len(parser.feed(upgrade + _FAKE)) == 1
    assert parser.feed(_FAKE) == []


@pytest.mark.parametrize(
    ("method", "target", "category", "pattern"),
    [
        ("GET", "/api", "discovery", "/api"),
        ("GET", "/api/v1", "discovery", "/api/v1"),
        ("GET", "/apis", "discovery", "/apis"),
        ("GET", "/apis/apps/v1", "discovery", "/apis/apps/v1"),
        ("GET", "/api/v1/namespaces/a/pods", "list", "/api/v1/namespaces/{ns}/pods"),
        ("GET", "/api/v1/namespaces/a/pods?watch=true", "watch", "/api/v1/namespaces/{ns}/pods"),
        ("GET", "/api/v1/namespaces/a/pods?watch=1&x=y", "watch", "/api/v1/namespaces/{ns}/pods"),
        ("GET", "/api/v1/namespaces/a/pods?watch=false", "list", "/api/v1/namespaces/{ns}/pods"),
        ("GET", "/api/v1/watch/namespaces/a/pods", "watch", "/api/v1/watch/namespaces/{ns}/pods"),
        ("GET", "/api/v1/namespaces/a/pods/p", "get", "/api/v1/namespaces/{ns}/pods/{name}"),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/a/deployments/d/status?fieldManager=x",
            "patch",
            "/apis/apps/v1/namespaces/{ns}/deployments/{name}/status",
        ),
        ("GET", "/api/v1/namespaces", "list", "/api/v1/namespaces"),
        ("POST", "/api/v1/namespaces", "create", "/api/v1/namespaces"),
        ("GET", "/api/v1/namespaces/a", "get", "/api/v1/namespaces/{name}"),
        ("PUT", "/api/v1/namespaces/a/finalize", "update", "/api/v1/namespaces/{name}/finalize"),
        (
            "DELETE",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/b",
            "delete",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            "create",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        ),
        ("GET", "/version", "other", "/version"),
        ("POST", "/apis", "other", "/apis"),
    ],
)
def test_classify(method: str, target: str, category: str, pattern: str) -> None:
    got = bench.classify(method, target)
    assert (got.category, got.pattern) == (category, pattern)


def test_query_hides_resource_versions_only() -> None:
    got = bench.classify("GET", "/api/v1/pods?resourceVersion=123&labelSelector=a%3Db")
    assert got.query == "resourceVersion={rv}&labelSelector=a=b"


def test_summarise_groups_by_category_and_path() -> None:
    targets = [
        ("GET", "/api/v1"),
        ("GET", "/api/v1/namespaces/a/pods/p"),
        ("GET", "/api/v1/namespaces/b/pods/q"),
        ("GET", "/api/v1/namespaces/a/pods?watch=1"),
        ("DELETE", "/api/v1/namespaces/a/pods/p"),
    ]
    summary = bench.summarise(bench.classify(m, t) for m, t in targets)
    assert summary.total == 5
    assert summary.by_category == {
        "discovery": 1,
        "watch": 1,
        "list": 0,
        "get": 2,
        "create": 0,
        "update": 0,
        "patch": 0,
        "delete": 1,
        "other": 0,
    }
    assert summary.by_pattern[0] == ("get", "/api/v1/namespaces/{ns}/pods/{name}", 2)
    assert sorted(summary.by_pattern[1:]) == [
        ("delete", "/api/v1/namespaces/{ns}/pods/{name}", 1),
        ("discovery", "/api/v1", 1),
        ("watch", "/api/v1/namespaces/{ns}/pods", 1),
    ]
