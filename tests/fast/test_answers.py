"""Answers: merging, defaults, validation, answers files, catalog rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from stagekit.errors import (
    AnswersFileError,
    ScaffoldError,
    UnsupportedCombinationError,
    ValidationError,
)
from stagekit.model import Base, Language
from stagekit.model.answers import check_text, defaults, load_answers_file, validate
from stagekit.model.catalog import builtin, load_scaffold


def _valid(language: Language, **given: object) -> dict[str, object]:
    scaffold = builtin(language)
    return {**defaults(scaffold, given), **given}


@pytest.mark.parametrize("language", list(Language))
def test_defaults_validate_for_every_scaffold(language: Language) -> None:
    scaffold = builtin(language)
    answers = validate(scaffold, _valid(language))
    assert answers.language is language
    assert answers.base is scaffold.default_base
    assert (answers.module_path is not None) == (language is Language.GO)


def test_the_catalog_refuses_an_unsupported_combination_with_alternatives() -> None:
    scaffold = builtin(Language.PYTHON)
    unsupported = [r for r in scaffold.unsupported if r.base and r.version]
    assert unsupported, "the python catalog declares at least one unsupported combination"
    rule = unsupported[0]
    assert rule.base is not None and rule.version is not None
    with pytest.raises(UnsupportedCombinationError) as excinfo:
        validate(scaffold, _valid(Language.PYTHON, base=rule.base.value, version=rule.version))
    assert rule.reason in excinfo.value.message
    assert excinfo.value.hint and "use version" in excinfo.value.hint


def test_unknown_version_names_the_choices() -> None:
    with pytest.raises(UnsupportedCombinationError) as excinfo:
        validate(builtin(Language.GO), _valid(Language.GO, version="1.2"))
    assert "1.26" in (excinfo.value.hint or "")


@pytest.mark.parametrize(
    ("port", "reason"),
    [("80", "outside"), ("70000", "outside"), ("http", "not a number"), ("40000", "debugger")],
)
def test_bad_ports(port: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate(builtin(Language.GO), _valid(Language.GO, port=port))


@pytest.mark.parametrize(
    ("text", "multiline", "reason"),
    [
        ("", True, "empty"),
        ("   ", True, "empty"),
        ("a\x00b", True, "U+0000"),
        ("a\x1bb", True, "U+001B"),
        ("two\nlines", False, "line break"),
        ("a\u2028b", True, "line break"),
        ("x" * 501, True, "at most 500"),
    ],
)
def test_free_text_rules(text: str, multiline: bool, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        check_text("description", text, 500, multiline)


def test_free_text_keeps_what_files_can_carry() -> None:
    text = '{{ 7*7 }} "quotes" \\back\\slash ${{ x }}\nnext line\twith tab, ünïcode 🚀'
    assert check_text("description", text, 500, True) == text


def test_answers_file_yaml_json_and_aliases(tmp_path: Path) -> None:
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text("name: svc\nlang: rust\nport: 9000\n")
    assert load_answers_file(str(yaml_file)) == {
        "project_name": "svc",
        "language": "rust",
        "port": 9000,
    }
    assert load_answers_file("-", stdin_text=json.dumps({"base": "scratch"})) == {"base": "scratch"}


def test_a_projects_answers_file_is_an_answers_file(tmp_path: Path) -> None:
    record = tmp_path / ".stagekit.json"
    record.write_text(json.dumps({"answers": {"project_name": "x", "language": "go"}}))
    assert load_answers_file(str(record)) == {"project_name": "x", "language": "go"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("- a\n- b\n", "mapping"),
        ("name: [unclosed\n", "neither JSON nor YAML"),
        ("colour: red", "unknown"),
    ],
)
def test_bad_answers_files(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    with pytest.raises(AnswersFileError, match=re.escape(reason)):
        load_answers_file(str(path))


def test_missing_answers_file() -> None:
    with pytest.raises(AnswersFileError, match="not found"):
        load_answers_file("/nonexistent/answers.yaml")


def test_every_builtin_catalog_names_images_for_every_base() -> None:
    for language in Language:
        scaffold = builtin(language)
        for base in Base:
            for version in scaffold.versions:
                if scaffold.supports(base, version):
                    images = scaffold.images_for(base, version)
                    assert {"build", "debug", "release"} <= set(images)
                    assert all("${" not in ref for ref in images.values()), images


def test_a_scaffold_missing_a_key_is_refused_with_the_key_named(tmp_path: Path) -> None:
    data = json.loads((builtin(Language.GO).path / "cookiecutter.json").read_text())
    del data["_stagekit"]["debug_port"]
    (tmp_path / "{{cookiecutter.project_name}}").mkdir()
    (tmp_path / "cookiecutter.json").write_text(json.dumps(data))
    with pytest.raises(ScaffoldError, match=r"_stagekit\.debug_port"):
        load_scaffold(tmp_path)
    del data["port"]
    (tmp_path / "cookiecutter.json").write_text(json.dumps(data))
    with pytest.raises(ScaffoldError, match="'port'"):
        load_scaffold(tmp_path)


@pytest.mark.parametrize(
    ("language", "name"), [(Language.RUST, "tokio"), (Language.RUST, "serde-json")]
)
def test_a_name_that_collides_with_a_dependency_is_refused(language: Language, name: str) -> None:
    with pytest.raises(ValidationError, match="dependency"):
        validate(builtin(language), _valid(language, project_name=name))
