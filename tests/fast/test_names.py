"""Project names and the identifiers derived from them, checked by each ecosystem's rules."""

from __future__ import annotations

import pytest
from stagekit.errors import ValidationError
from stagekit.model.names import (
    ProjectNames,
    default_module_path,
    suggest_name,
    validate_module_path,
    validate_project_name,
)


def test_one_name_yields_every_identifier() -> None:
    names = validate_project_name("payments-api2")
    assert names == ProjectNames(
        project="payments-api2",
        image="payments-api2",
        binary="payments-api2",
        crate="payments_api2",
        dist="payments-api2",
        package="payments_api2",
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be empty"),
        ("my service", "spaces"),
        ("../x", "not a path"),
        ("a/b", "not a path"),
        ("MyService", "lowercase"),
        ("2fast", "start with a letter"),
        ("snake_case", "hyphens"),
        ("double--hyphen", "hyphens must separate"),
        ("trailing-", "hyphens must separate"),
        ("x" * 300, "at most 63"),
        ("café", "ASCII"),
        ("服务", "ASCII"),
        ("fn", "Rust keyword"),
        ("async", "Rust keyword"),
        ("self", "Rust keyword"),
        ("std", "reserved by Rust"),
        ("test", "reserved by Rust"),
        ("class", "Python keyword"),
        ("def", "Python keyword"),
        ("json", "standard-library"),
        ("asyncio", "standard-library"),
        ("internal", "Go's tooling"),
        ("vendor", "Go's tooling"),
        ("con", "Windows"),
    ],
)
def test_bad_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_project_name(name)
    assert reason in str(excinfo.value)
    assert str(excinfo.value).startswith("project name:")


def test_a_bad_name_suggests_a_valid_one() -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_project_name("My Service")
    assert excinfo.value.hint == "try 'my-service'"
    assert suggest_name("Ünïcode Sërvice!") == "unicode-service"
    assert suggest_name("123") == ""


@pytest.mark.parametrize(
    "path",
    [
        "github.com/acme/payments",
        "example.com/x",
        "gitlab.example.org/team/sub/svc",
        "go.dev/a_b~c",
    ],
)
def test_valid_module_paths(path: str) -> None:
    assert validate_module_path(path) == path


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "must not be empty"),
        ("payments", "domain name with a dot"),
        ("GitHub.com/acme/x", "lowercase"),
        ("github.com//x", "empty path element"),
        ("github.com/acme/x/", "empty path element"),
        ("github.com/ac me/x", "character Go refuses"),
        ("github.com/.hidden/x", "start or end with a dot"),
        ("github.com/acme/con", "reserved Windows name"),
    ],
)
def test_bad_module_paths(path: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate_module_path(path)


def test_default_module_path_is_valid_for_any_owner() -> None:
    assert default_module_path("Platform Team", "svc") == "github.com/platform-team/svc"
    assert default_module_path("🚀", "svc") == "github.com/example/svc"
    validate_module_path(default_module_path('Jöhn "Q" O\'Neil', "svc"))
