from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.__package_name }}.app import create_app


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app())
