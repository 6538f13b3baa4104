"""The JSON Schema of the answers (``stagekit schema``): valid draft 2020-12, accepts what stagekit
accepts, refuses what it refuses, and the example Backstage template agrees with it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from stagekit.errors import StagekitError
from stagekit.model import Language
from stagekit.model.answers import MAX_DESCRIPTION, MAX_OWNER, check_text, defaults, validate
from stagekit.model.catalog import Scaffold, builtin
from stagekit.model.names import validate_module_path, validate_project_name
from stagekit.model.schema import answers_schema
from stagekit.new.render import generate

from tests.helpers import REPO, CliResult, run_cli

TEMPLATE = REPO / "docs" / "backstage-template.yaml"


def scaffolds() -> list[Scaffold]:
    """The built-in scaffolds that exist in this checkout."""
    found = []
    for lang in Language:
        if (REPO / "scaffolds" / lang.value / "cookiecutter.json").is_file():
            found.append(builtin(lang))
    return found


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(schema: dict[str, Any], instance: Any) -> list[str]:
    return [error.message for error in validator(schema).iter_errors(instance)]


@pytest.fixture(params=[s.language.value for s in scaffolds()])
def scaffold(request: pytest.FixtureRequest) -> Scaffold:
    return builtin(Language(request.param))


def real_answers(tmp_path: Path, scaffold: Scaffold, **given: Any) -> dict[str, Any]:
    """The answers of a project really generated, read back from its .stagekit.json."""
    raw = {"project_name": "orders-api", "owner": "Orders Team", **given}
    answers = validate(scaffold, {**defaults(scaffold, raw), **raw})
    project = generate(scaffold, answers, tmp_path / f"{scaffold.name}-project").path
    record = json.loads((project / ".stagekit.json").read_text())
    answers_object: dict[str, Any] = record["answers"]
    return answers_object


def test_the_schema_is_valid_draft_2020_12(scaffold: Scaffold) -> None:
    schema = answers_schema([scaffold])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["version"]["enum"] == list(scaffold.versions)
    assert schema["properties"]["base"]["enum"] == [b.value for b in scaffold.bases]
    assert schema["properties"]["port"]["not"] == {"const": scaffold.debug_port}


def test_the_schema_validates_a_real_answers_file(tmp_path: Path, scaffold: Scaffold) -> None:
    answers = real_answers(
        tmp_path, scaffold, description='Line one\n\t{{ 7*7 }} "quoted" ${{ x }} \\ é'
    )
    assert errors(answers_schema([scaffold]), answers) == []
    assert errors(answers_schema(scaffolds()), answers) == []
    # The same answers as YAML (what `--answers FILE` reads) are the same object.
    assert errors(answers_schema([scaffold]), yaml.safe_load(yaml.safe_dump(answers))) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"project_name": "Orders API"}, "pattern"),
        ({"project_name": "orders_api"}, "pattern"),
        ({"project_name": "orders-api\n"}, "pattern: $ must not match before a final newline"),
        ({"project_name": "a" * 64}, "maxLength"),
        ({"project_name": "std"}, "a reserved crate"),
        ({"project_name": "json"}, "shadows a Python module"),
        ({"project_name": "vendor"}, "a path Go reserves"),
        ({"port": 80}, "below 1024"),
        ({"port": 70000}, "above 65535"),
        ({"port": "8080"}, "a string, not an integer"),
        ({"base": "ubuntu"}, "not a base"),
        ({"version": "0.1"}, "not in the catalog"),
        ({"description": ""}, "empty"),
        ({"description": "  \n "}, "blank"),
        ({"description": "x" * (MAX_DESCRIPTION + 1)}, "too long"),
        ({"description": "bell\x07"}, "a control character"),
        ({"owner": "two\nlines"}, "a newline in one-line text"),
        ({"owner": "x" * (MAX_OWNER + 1)}, "too long"),
        ({"colour": "red"}, "an unknown key"),
        ({"project_name": None}, "missing project name"),
    ],
)
def test_the_schema_rejects_a_bad_answers_file(
    tmp_path: Path, scaffold: Scaffold, change: dict[str, Any], why: str
) -> None:
    answers = real_answers(tmp_path, scaffold)
    for key, value in change.items():
        if value is None:
            del answers[key]
        else:
            answers[key] = value
    assert errors(answers_schema([scaffold]), answers), f"accepted although {why}: {change}"
    assert errors(answers_schema(scaffolds()), answers), f"(all languages) accepted: {why}"


def test_the_debugger_port_is_refused_per_language(tmp_path: Path, scaffold: Scaffold) -> None:
    answers = real_answers(tmp_path, scaffold)
    answers["port"] = scaffold.debug_port
    assert errors(answers_schema([scaffold]), answers)
    assert errors(answers_schema(scaffolds()), answers)


def test_language_specific_rules_in_the_all_languages_schema(tmp_path: Path) -> None:
    schema = answers_schema(scaffolds())
    go = real_answers(tmp_path, builtin(Language.GO))
    assert errors(schema, go) == []
    rust = {**go, "language": "rust", "version": builtin(Language.RUST).default_version}
    assert errors(schema, rust), "module_path belongs to Go only"
    del rust["module_path"]
    assert errors(schema, rust) == []
    assert errors(schema, {**rust, "version": builtin(Language.GO).default_version}), (
        "a Go version is not a Rust version"
    )
    assert errors(schema, {**go, "module_path": "nodot/orders"}), "module path without a domain"
    assert errors(schema, {"project_name": "minimal"}) == [], "everything else has a default"


def test_unsupported_combinations_are_refused(tmp_path: Path) -> None:
    """A catalog's unsupported (base, version) pairs, e.g. Python 3.12 on distroless."""
    rules = [(s, r) for s in scaffolds() for r in s.unsupported if r.base and r.version]
    assert rules, "the Python catalog lists unsupported pairs (3.12 on distroless): none found"
    for scaffold, rule in rules:
        assert rule.base is not None and rule.version is not None
        answers = {"project_name": "orders-api", "base": rule.base.value, "version": rule.version}
        assert errors(answers_schema([scaffold]), answers), (scaffold.name, rule)
        assert errors(answers_schema(scaffolds()), {**answers, "language": scaffold.name})
        fine = next(v for v in scaffold.versions if scaffold.supports(rule.base, v))
        assert errors(answers_schema([scaffold]), {**answers, "version": fine}) == []


# --- one set of rules: the schema agrees with the validators ------------------------------------


NAMES = [
    "a", "ab", "a1", "a-1", "orders-api", "x" * 63, "x" * 64, "1abc", "-a", "a-", "a--b", "A",
    "ab_c", "café", "std", "core", "test", "type", "async", "os", "json", "sys", "typing",
    "internal", "vendor", "main", "cmd", "con", "nul", "lpt1", "com9", "self", "string", "re",
    "build", "deps", "match", "case", "tomllib", "zipapp", "sre-compile", "a b", "",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_the_schema_and_validate_project_name_agree(name: str) -> None:
    schema = answers_schema([builtin(Language.GO)])
    try:
        validate_project_name(name)
        accepted = True
    except StagekitError:
        accepted = False
    assert (errors(schema, {"project_name": name}) == []) == accepted, name


MODULES = [
    "github.com/acme/orders", "example.com/x", "git.corp.example/a/b.c/d~e_f-g", "nodot/x",
    "GitHub.com/acme/x", "-bad.com/x", "example.com/.hidden", "example.com/trailing.",
    "example.com//x", "example.com/x/", "/example.com", "example.com/sp ace", "a.b",
]  # fmt: skip


@pytest.mark.parametrize("path", MODULES)
def test_the_schema_and_validate_module_path_agree(path: str) -> None:
    schema = answers_schema([builtin(Language.GO)])
    try:
        validate_module_path(path)
        accepted = True
    except StagekitError:
        accepted = False
    verdict = errors(schema, {"project_name": "x-svc", "module_path": path}) == []
    assert verdict == accepted, path


TEXTS = ["ok", "tab\there", "new\nline", "cr\rhere", "nul\x00", "del\x7f", "c1\x85", "ls\u2028",
         "ps\u2029", "pua\ue000", "emoji 🎉", "   ", "\u00a0", "zero\u200bwidth"]  # fmt: skip


@pytest.mark.parametrize("text", TEXTS)
def test_the_schema_and_check_text_agree(text: str) -> None:
    schema = answers_schema([builtin(Language.GO)])
    for field, limit, multiline in (
        ("description", MAX_DESCRIPTION, True),
        ("owner", MAX_OWNER, False),
    ):
        try:
            check_text(field, text, limit, multiline)
            accepted = True
        except StagekitError:
            accepted = False
        verdict = errors(schema, {"project_name": "x-svc", field: text}) == []
        assert verdict == accepted, (field, text)


# --- defaults and the CLI --------------------------------------------------------------------


def test_org_defaults_are_the_schema_defaults() -> None:
    go = builtin(Language.GO)
    schema = answers_schema([go], {"owner": "Payments", "base": "scratch", "port": 9000})
    properties = schema["properties"]
    assert properties["owner"]["default"] == "Payments"
    assert properties["base"]["default"] == "scratch"
    assert properties["port"]["default"] == 9000
    assert properties["version"]["default"] == go.default_version


def test_stagekit_schema_prints_it_and_stagekit_new_takes_matching_answers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STAGEKIT_CONFIG"}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "GIT_CONFIG_GLOBAL": "/dev/null"}
    (tmp_path / "stagekit.toml").write_text('[defaults]\nowner = "Org Team"\n')

    def cli(*args: str, stdin: str | None = None) -> CliResult:
        return run_cli(*args, cwd=tmp_path, env=env, stdin=stdin)

    printed = cli("schema", "--lang", "rust")
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    assert schema["properties"]["owner"]["default"] == "Org Team", "org config defaults"
    answers = {"project_name": "from-portal", "language": "rust", "base": "scratch", "port": 9000}
    assert errors(schema, answers) == []
    made = cli("new", "--answers", "-", "--no-input", stdin=json.dumps(answers))
    assert made.returncode == 0, made.stderr
    record = json.loads((tmp_path / "from-portal" / ".stagekit.json").read_text())
    assert errors(schema, record["answers"]) == []
    assert record["answers"]["owner"] == "Org Team"

    everything = cli("schema")
    if everything.returncode == 0:
        assert set(json.loads(everything.stdout)["properties"]["language"]["enum"]) >= {"go"}
    assert cli("schema", "--lang", "go", "--scaffold", "rust").returncode == 2


# --- the example Backstage template agrees with the schema ----------------------------------------


def template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())
    return data


def page_properties() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for page in template()["spec"]["parameters"]:
        merged.update(page.get("properties", {}))
    return merged


def test_the_backstage_form_matches_the_schema() -> None:
    form = page_properties()
    go_schema = answers_schema([builtin(Language.GO)])["properties"]
    assert form["project_name"]["pattern"] == go_schema["project_name"]["pattern"]
    assert form["project_name"]["maxLength"] == go_schema["project_name"]["maxLength"]
    for key in ("description", "owner"):
        assert form[key]["maxLength"] == go_schema[key]["maxLength"], key
    for key in ("minimum", "maximum"):
        assert form["port"][key] == go_schema["port"][key]
    assert form["base"]["enum"] == go_schema["base"]["enum"]
    assert form["language"]["enum"] == [lang.value for lang in Language]
    branches = template()["spec"]["parameters"][0]["dependencies"]["language"]["oneOf"]
    by_language = {b["properties"]["language"]["const"]: b["properties"] for b in branches}
    assert set(by_language) == {lang.value for lang in Language}
    for scaffold in scaffolds():
        version = by_language[scaffold.language.value]["version"]
        assert version["enum"] == list(scaffold.versions), scaffold.name
        assert version["default"] == scaffold.default_version, scaffold.name
    go_module = by_language["go"]["module_path"]["pattern"]
    assert go_module == go_schema["module_path"]["pattern"]


def test_the_backstage_step_hands_over_exactly_the_schema_keys() -> None:
    steps = {step["id"]: step for step in template()["spec"]["steps"]}
    generate_step = steps["generate"]
    assert generate_step["action"] == "stagekit:new"
    keys = set(generate_step["input"]["answers"])
    schema = answers_schema(scaffolds())
    assert keys == set(schema["properties"]), "every key the schema knows, and no other"
    for key, value in generate_step["input"]["answers"].items():
        assert value == f"${{{{ parameters.{key} }}}}", key
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]*", step_id) for step_id in steps), (
        "Backstage step ids are camelCase (a dash would be a subtraction)"
    )
    guide = (REPO / "docs" / "platform-teams.md").read_text()
    assert "'new', '--answers', '-', '--no-input'" in guide, "the action runs stagekit like this"
