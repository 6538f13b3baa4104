from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.__package_name }} import DIST_NAME


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Hello, world!"),
        ("?name=Pythonista", "Hello, Pythonista!"),
        ("?name=%C3%A9t%C3%A9", "Hello, été!"),
    ],
)
def test_hello(client: TestClient, query: str, message: str) -> None:
    response = client.get(f"/hello{query}")
    assert response.status_code == 200
    assert response.json() == {"message": message}


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_hello_rejects_bad_names(client: TestClient, name: str) -> None:
    assert client.get("/hello", params={"name": name}).status_code == 422


def test_root_names_the_build(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["name"] == DIST_NAME
    assert body["version"] == "0.1.0"


def test_unknown_path_is_404(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404


def test_requests_are_logged_as_structured_records(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.__package_name }}.access"):
        client.get("/hello?name=log")
    (record,) = [r for r in caplog.records if r.name.endswith(".access")]
    assert (record.method, record.path, record.status) == ("GET", "/hello", 200)  # type: ignore[attr-defined]
    assert isinstance(record.duration_ms, float)  # type: ignore[attr-defined]
