"""Org configuration: where it is found, how files merge, how it is checked, what projects carry.

Also the registry mapping: with a prefix, every image a rendered Dockerfile names (``FROM``,
``COPY --from``, ``RUN --mount=from=``) is under the prefix, in all nine combinations.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import dockerfile
import pytest
from stagekit.contract import BAKE_OVERRIDE_FILE, BUILD_ARGS_FILE
from stagekit.errors import ConfigError
from stagekit.filters import resolve_image
from stagekit.model import Base, Language
from stagekit.model.answers import defaults, validate
from stagekit.model.catalog import builtin, load_scaffold
from stagekit.model.config import NETWORK_SETTINGS, PROXY_ARGS, OrgConfig
from stagekit.new.create import AnswerSources, new, resolve_answers, with_config_defaults
from stagekit.new.render import generate
from stagekit.org.config import discover, load_config
from stagekit.org.project_files import network_files, read_build_args

from tests.helpers import ALL_COMBINATIONS, REPO, run_cli

PREFIX = "mirror.corp.example/dockerhub"


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """No user config, no STAGEKIT_CONFIG, no git identity from the machine."""
    env = {k: v for k, v in os.environ.items() if k != "STAGEKIT_CONFIG"}
    xdg = tmp_path / "xdg"
    xdg.mkdir(exist_ok=True)
    env |= {"XDG_CONFIG_HOME": str(xdg), "NO_COLOR": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- finding and merging ------------------------------------------------------------------------


def test_nearest_file_wins_key_by_key_over_farther_files_and_the_user_config(
    tmp_path: Path,
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    user = write(
        tmp_path / "xdg" / "stagekit" / "config.toml",
        '[defaults]\nowner = "User"\nport = 9000\n[registry]\nprefix = "user.example"\n',
    )
    org = write(
        tmp_path / "org" / "stagekit.toml",
        '[defaults]\nowner = "Org"\nbase = "alpine"\n'
        '[registry.map]\ngolang = "org.example/golang"\n',
    )
    team = write(
        tmp_path / "org" / "team" / ".stagekit.toml",
        '[defaults]\nbase = "scratch"\n[registry.map]\nalpine = "team.example/alpine"\n',
    )
    start = tmp_path / "org" / "team" / "services"
    start.mkdir()
    assert discover(start, env) == [user, org, team]
    config = load_config(start, env=env)
    assert config.defaults == {"owner": "Org", "port": 9000, "base": "scratch"}
    assert config.registry.prefix == "user.example"
    assert dict(config.registry.map) == {
        "golang": "org.example/golang",
        "alpine": "team.example/alpine",
    }
    assert config.files == (user, org, team)
    # A folder outside the org tree sees only the user config.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert load_config(elsewhere, env=env).defaults == {"owner": "User", "port": 9000}


def test_explicit_config_is_the_only_file_read(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    write(tmp_path / "xdg" / "stagekit" / "config.toml", "[defaults]\nport = 9000\n")
    write(tmp_path / "stagekit.toml", '[defaults]\nowner = "Near"\n')
    chosen = write(tmp_path / "ci.toml", '[defaults]\nbase = "alpine"\n')
    assert load_config(tmp_path, chosen, env).defaults == {"base": "alpine"}
    via_env = load_config(tmp_path, env={**env, "STAGEKIT_CONFIG": str(chosen)})
    assert via_env.defaults == {"base": "alpine"} and via_env.files == (chosen,)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path, tmp_path / "missing.toml", env)


def test_two_config_files_in_one_folder_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "stagekit.toml", "")
    write(tmp_path / ".stagekit.toml", "")
    with pytest.raises(ConfigError, match=r"holds both stagekit\.toml and \.stagekit\.toml"):
        load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path / "org" / "certs" / "root.pem", "-----BEGIN CERTIFICATE-----\n")
    write(
        tmp_path / "org" / "stagekit.toml",
        '[network]\nca_bundle = "certs/root.pem"\n'
        '[scaffolds]\npayments = "templates/payments"\nshared = "git+../shared.git#ref=v1"\n'
        'remote = "https://git.corp.example/t/go.git"\n',
    )
    config = load_config(tmp_path / "org", env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert config.network.ca_bundle == tmp_path / "org" / "certs" / "root.pem"
    assert config.scaffolds["payments"] == str(tmp_path / "org" / "templates" / "payments")
    assert config.scaffolds["shared"] == f"git+{tmp_path / 'org' / '..' / 'shared.git'}#ref=v1"
    assert config.scaffolds["remote"] == "https://git.corp.example/t/go.git"


# --- checking: one line naming the file and the key ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[defualts]\nowner = 'x'\n", r"unknown key 'defualts'"),
        ("[defaults]\ncolour = 'red'\n", r"unknown key 'defaults\.colour'"),
        ("[defaults]\nversion = 1.26\n", r"defaults\.version: must be a string, not a number"),
        ("[defaults]\nport = 80\n", r"defaults\.port: 80 is outside 1024-65535"),
        ("[defaults]\nport = true\n", r"defaults\.port: must be an integer, not a boolean"),
        ("[defaults]\nbase = 'ubuntu'\n", r"defaults\.base: 'ubuntu' is not a base"),
        ("[defaults]\nname = 'Bad Name'\n", r"defaults\.name: must not contain spaces"),
        ('[defaults]\nowner = "a\\nb"\n', r"defaults\.owner: contains a line break"),
        ("[defaults]\nmodule_path = 'nodot/{project_name}'\n", r"defaults\.module_path: "),
        ("defaults = 3\n", r"defaults: must be a table, not an integer"),
        ("[registry]\nprefix = 'https://mirror.example'\n", r"registry\.prefix: .* not a registry"),
        ("[registry]\nmirror = 'x'\n", r"unknown key 'registry\.mirror'"),
        ("[registry.upstreams]\ndockerhub = 'h.example/d'\n", r"upstreams\.dockerhub: is not a"),
        ("[registry.map]\ngolang = 'm.example/golang:1.26'\n", r"registry\.map\.golang: .*repos"),
        ("[network]\ngoproxy = ['a']\n", r"network\.goproxy: must be a string, not an array"),
        ("[network]\nhttps_proxy = 'proxy:3128'\n", r"network\.https_proxy: .* not a URL"),
        (
            "[network]\nhttps_proxy = 'http://bob:secret@proxy.example:3128'\n",
            r"network\.https_proxy: carries credentials",
        ),
        ("[network]\nno_proxy = 'a b'\n", r"network\.no_proxy: must be one word"),
        ("[network]\npip_index = 'x'\n", r"unknown key 'network\.pip_index'"),
        ("[network.args]\n'1BAD' = 'x'\n", r"network\.args\.1BAD: is not a build argument"),
        ("[scaffolds]\ngo = './mine'\n", r"scaffolds\.go: 'go' is a built-in scaffold"),
        ("[defaults]\nowner = \n", r"not valid TOML"),
    ],
)
def test_a_bad_config_is_one_clear_error_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path / "stagekit.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    message = caught.value.message
    assert message.startswith(f"{path}: "), message
    assert re.search(expected, message), message
    assert "\n" not in message


def test_a_float_version_hints_at_quoting(tmp_path: Path) -> None:
    write(tmp_path / "stagekit.toml", "[defaults]\nversion = 1.26\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert caught.value.hint == 'quote it: version = "1.26"'


def test_bad_config_through_the_cli_is_exit_2_and_one_line(tmp_path: Path) -> None:
    write(tmp_path / "stagekit.toml", "[network]\ngoproxy = 3\n")
    result = run_cli("new", "svc", "--no-input", cwd=tmp_path, env=isolated_env(tmp_path))
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first == (
        f"stagekit: error: {tmp_path / 'stagekit.toml'}: network.goproxy: "
        "must be a string, not an integer"
    )
    assert not (tmp_path / "svc").exists()


# --- defaults: config under answers file under flags ---------------------------------------------


ORG_DEFAULTS = """\
[defaults]
owner = "Payments Team"
base = "scratch"
port = 9000
description = "From the org config."
module_path = "git.corp.example/payments/{project_name}"
"""


def test_org_defaults_apply_and_flags_override_them(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    write(tmp_path / "stagekit.toml", ORG_DEFAULTS)
    result = run_cli("new", "ledger", "--lang", "go", "--no-input", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"Org config: {tmp_path / 'stagekit.toml'}" in result.stdout
    answers = json.loads((tmp_path / "ledger" / ".stagekit.json").read_text())["answers"]
    assert answers == {
        "project_name": "ledger",
        "language": "go",
        "base": "scratch",
        "version": builtin(Language.GO).default_version,
        "port": 9000,
        "description": "From the org config.",
        "owner": "Payments Team",
        "module_path": "git.corp.example/payments/ledger",
    }
    result = run_cli(
        "new",
        "billing",
        "--lang",
        "go",
        "--base",
        "alpine",
        "--port",
        "9100",
        "--owner",
        "Billing",
        "--module",
        "example.com/billing",
        "--no-input",
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads((tmp_path / "billing" / ".stagekit.json").read_text())["answers"]
    assert (answers["base"], answers["port"], answers["owner"]) == ("alpine", 9100, "Billing")
    assert answers["module_path"] == "example.com/billing"
    assert answers["description"] == "From the org config."  # not overridden: still the org's


def test_an_answers_file_overrides_the_org_config_and_flags_override_the_file(
    tmp_path: Path,
) -> None:
    write(tmp_path / "stagekit.toml", ORG_DEFAULTS)
    stdin = json.dumps({"name": "from-stdin", "lang": "go", "base": "alpine", "port": 9200})
    result = run_cli(
        "new", "--answers", "-", "--port", "9300", "--no-input",
        cwd=tmp_path, env=isolated_env(tmp_path), stdin=stdin,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = json.loads((tmp_path / "from-stdin" / ".stagekit.json").read_text())["answers"]
    assert (answers["base"], answers["port"], answers["owner"]) == ("alpine", 9300, "Payments Team")


def test_org_defaults_without_no_input_and_without_a_terminal_still_need_the_answers(
    tmp_path: Path,
) -> None:
    """Config values are defaults, not answers: without --no-input a missing answer is an error."""
    write(tmp_path / "stagekit.toml", ORG_DEFAULTS)
    result = run_cli("new", "ledger", "--lang", "go", cwd=tmp_path, env=isolated_env(tmp_path))
    assert result.returncode == 2
    assert "missing answer" in result.stderr and not (tmp_path / "ledger").exists()


def test_org_defaults_are_the_prompt_defaults() -> None:
    scaffold = builtin(Language.GO)
    view = with_config_defaults(
        scaffold, {"base": "alpine", "version": scaffold.versions[-1], "port": 9000}
    )
    assert view.bases[0] is Base.ALPINE and set(view.bases) == set(scaffold.bases)
    assert view.versions[0] == scaffold.versions[-1]
    assert defaults(view, {})["port"] == 9000 and defaults(view, {})["base"] == "alpine"
    assert scaffold.bases[0] is not Base.ALPINE  # the real scaffold is untouched


def test_a_config_language_default_does_not_fight_a_chosen_scaffold() -> None:
    sources = AnswerSources(
        config={"language": "rust", "owner": "Org"}, flags={"project_name": "x-svc"}
    )
    _, answers = resolve_answers(
        sources, no_input=True, interactive=False, scaffold=builtin(Language.GO)
    )
    assert answers.language is Language.GO and answers.owner == "Org"


# --- network settings: what a generated project carries -----------------------------------------


NETWORK = """\
[network]
goproxy = "https://goproxy.corp.example|https://proxy.golang.org,direct"
gonosumdb = "git.corp.example"
python_index_url = "https://pypi.corp.example/simple"
cargo_registry_mirror = "sparse+https://crates.corp.example/index/"
https_proxy = "http://proxy.corp.example:3128"
no_proxy = "localhost,127.0.0.1,.corp.example"
[network.args]
NPM_CONFIG_REGISTRY = "https://npm.corp.example/"
"""


def fake_scaffold(tmp_path: Path, lang: str = "go", **catalog: Any) -> Path:
    """A copy of a built-in scaffold with catalog keys changed (None removes a key)."""
    source = builtin(Language(lang)).path
    folder = tmp_path / "scaffolds" / f"custom-{lang}"
    shutil.copytree(source, folder)  # follows the local_extensions.py link
    config = folder / "cookiecutter.json"
    data = json.loads(config.read_text())
    for key, value in catalog.items():
        if value is None:
            data["_stagekit"].pop(key, None)
        else:
            data["_stagekit"][key] = value
    config.write_text(json.dumps(data, indent=2))
    return folder


def test_projects_carry_the_declared_network_args_and_the_proxies(tmp_path: Path) -> None:
    write(tmp_path / "stagekit.toml", NETWORK)
    config = load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    folder = fake_scaffold(tmp_path, network_args=["GOPROXY", "GONOSUMDB", "GOSUMDB"])
    scaffold = load_scaffold(folder, "custom-go", str(folder))
    answers = validate(scaffold, {**defaults(scaffold, {}), "owner": "Org", "project_name": "net"})
    project = new(answers, scaffold, tmp_path / "net", config=config).path
    args = read_build_args(project)
    assert args == {
        "GOPROXY": "https://goproxy.corp.example|https://proxy.golang.org,direct",
        "GONOSUMDB": "git.corp.example",
        "HTTPS_PROXY": "http://proxy.corp.example:3128",
        "https_proxy": "http://proxy.corp.example:3128",
        "NO_PROXY": "localhost,127.0.0.1,.corp.example",
        "no_proxy": "localhost,127.0.0.1,.corp.example",
    }, "Python, cargo and npm settings are not the Go scaffold's: they must not be passed"
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["network"] == {"build_args": args}
    override = (project / BAKE_OVERRIDE_FILE).read_text()
    for target in ("test", "debug", "release", "release-multi"):
        block = re.search(rf'target "{target}" {{\n  args = {{\n(.*?)\n  }}', override, re.S)
        assert block, f"no args for bake target {target}:\n{override}"
        assert '"https://goproxy.corp.example|https://proxy.golang.org,direct"' in block.group(1)
    assert 'target "_common"' not in override


def test_settings_for_the_language_that_the_scaffold_does_not_declare_are_reported(
    tmp_path: Path,
) -> None:
    write(tmp_path / "stagekit.toml", NETWORK)
    config = load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    folder = fake_scaffold(tmp_path, network_args=None)
    scaffold = load_scaffold(folder, "custom-go", str(folder))
    files, record = network_files(scaffold, config)
    assert record["not_declared"] == ["GONOSUMDB", "GOPROXY"]
    assert set(record["build_args"]) == {"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}
    assert set(files) == {BUILD_ARGS_FILE, BAKE_OVERRIDE_FILE}


def test_no_network_settings_means_no_extra_files(tmp_path: Path) -> None:
    config = OrgConfig()
    _, record = network_files(builtin(Language.GO), config)
    project = new(
        validate(builtin(Language.GO), {**defaults(builtin(Language.GO), {}), "owner": "O"}),
        builtin(Language.GO),
        tmp_path / "plain",
        config=config,
    ).path
    assert record == {}
    assert not (project / BUILD_ARGS_FILE).exists() and not (project / BAKE_OVERRIDE_FILE).exists()
    assert "network" not in json.loads((project / ".stagekit.json").read_text())


def test_the_ca_bundle_becomes_the_bake_default_and_is_recorded(tmp_path: Path) -> None:
    bundle = write(tmp_path / "corp.pem", "-----BEGIN CERTIFICATE-----\n")
    write(tmp_path / "stagekit.toml", '[network]\nca_bundle = "corp.pem"\n')
    config = load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    files, record = network_files(builtin(Language.GO), config)
    assert record == {"build_args": {}, "ca_bundle": str(bundle)}
    assert f'variable "CA_BUNDLE" {{\n  default = "{bundle}"\n}}' in files[BAKE_OVERRIDE_FILE]
    assert BUILD_ARGS_FILE not in files


def test_every_catalog_network_arg_is_a_setting_the_config_can_make() -> None:
    """A scaffold's network_args must be reachable from [network] (or it needs [network.args])."""
    known = {name for names, _ in NETWORK_SETTINGS.values() for name in names}
    for lang in Language:
        path = REPO / "scaffolds" / lang.value / "cookiecutter.json"
        if not path.is_file():
            continue
        declared = json.loads(path.read_text())["_stagekit"].get("network_args", [])
        assert set(declared) <= known, f"{lang}: {set(declared) - known} cannot be configured"
        assert not set(declared) & PROXY_ARGS, f"{lang}: proxies need no ARG (BuildKit predefines)"


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_bake_merges_the_override_into_every_target(tmp_path: Path) -> None:
    write(
        tmp_path / "stagekit.toml",
        NETWORK.replace("[network]\n", '[network]\nca_bundle = "/etc/hostname"\n'),
    )
    env = isolated_env(tmp_path)
    result = run_cli("new", "baked", "--lang", "go", "--no-input", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    printed = subprocess.run(
        ["docker", "buildx", "bake", "--print", "test", "debug", "release", "release-multi"],
        cwd=tmp_path / "baked",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if printed.returncode != 0 and "Cannot connect" in printed.stderr:
        pytest.skip("docker buildx bake needs an engine here")
    assert printed.returncode == 0, printed.stderr
    targets = json.loads(printed.stdout)["target"]
    for name, target in targets.items():
        assert target["args"]["HTTPS_PROXY"] == "http://proxy.corp.example:3128", name
        assert target["args"]["VERSION"], f"{name}: the scaffold's own args must survive"
        assert target.get("secret") == ["id=ca_bundle,src=/etc/hostname"], name


# --- the registry mapping: every image under the prefix ------------------------------------------


def external_images(text: str) -> list[str]:
    """Every image a Dockerfile names (FROM, COPY --from, RUN --mount=from=), ARGs resolved."""
    commands = dockerfile.parse_string(text)
    global_args: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []

    def resolve(word: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            assert name in global_args, f"{word}: ARG {name} has no default before the first FROM"
            return global_args[name]

        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", value, word)

    def reference(word: str) -> None:
        if word.isdigit() or word in stages:
            return  # a stage, by name or index
        images.append(resolve(word))

    seen_from = False
    for command in commands:
        if command.cmd == "ARG" and not seen_from:
            for item in command.value:
                name, _, default = item.partition("=")
                global_args[name] = default.strip('"')
        elif command.cmd == "FROM":
            seen_from = True
            reference(command.value[0])
            if len(command.value) == 3 and command.value[1].upper() == "AS":
                stages.add(command.value[2])
        elif command.cmd in ("COPY", "ADD"):
            for flag in command.flags:
                if flag.startswith("--from="):
                    reference(flag.removeprefix("--from="))
        elif command.cmd == "RUN":
            for flag in command.flags:
                if flag.startswith("--mount="):
                    for option in flag.removeprefix("--mount=").split(","):
                        if option.startswith("from="):
                            reference(option.removeprefix("from="))
    return images


@pytest.mark.parametrize(("lang", "base"), ALL_COMBINATIONS)
def test_a_registry_prefix_rewrites_every_image(tmp_path: Path, lang: str, base: str) -> None:
    scaffold = builtin(Language(lang))
    given = {"project_name": "mirrored", "base": base, "owner": "Org"}
    raw = {**defaults(scaffold, given), **given}
    if not scaffold.supports(Base(base), str(raw["version"])):
        raw["version"] = next(v for v in scaffold.versions if scaffold.supports(Base(base), v))
    answers = validate(scaffold, raw)
    plain = generate(scaffold, answers, tmp_path / "plain").path
    registry = {"prefix": PREFIX, "map": {}}
    mirrored = generate(scaffold, answers, tmp_path / "mirrored", registry=registry).path
    before = external_images((plain / "Dockerfile").read_text())
    after = external_images((mirrored / "Dockerfile").read_text())
    print(f"{lang}/{base}: {len(after)} image references: {sorted(set(after))}")
    assert len(before) == len(after) and before, "the same references, in the same places"
    for original, rewritten in zip(before, after, strict=True):
        if original == "scratch":
            assert rewritten == "scratch"
            continue
        assert rewritten.startswith(PREFIX + "/"), f"{original} not under the prefix: {rewritten}"
        assert rewritten == resolve_image(original, registry)
    # What smoke, lint and the stand-ins use agrees with the Dockerfile.
    record = json.loads((mirrored / ".stagekit.json").read_text())
    assert record["registry"] == registry
    for role, image in record["catalog"]["images"].items():
        assert image == "scratch" or image.startswith(PREFIX + "/"), (role, image)
    # Only the FROM lines changed: stage names, --from=<stage> and the rest are identical.
    lines = zip(
        (plain / "Dockerfile").read_text().splitlines(),
        (mirrored / "Dockerfile").read_text().splitlines(),
        strict=True,
    )
    for old, new_line in lines:
        if old != new_line:
            assert old.startswith("FROM ") and new_line.startswith("FROM "), (old, new_line)


def test_a_per_image_map_wins_over_the_prefix(tmp_path: Path) -> None:
    scaffold = builtin(Language.GO)
    answers = validate(scaffold, {**defaults(scaffold, {}), "owner": "Org", "base": "distroless"})
    registry = {"prefix": PREFIX, "map": {"golang": "mirror.corp.example/golang"}}
    project = generate(scaffold, answers, tmp_path / "mapped", registry=registry).path
    images = set(external_images((project / "Dockerfile").read_text()))
    version = answers.version
    assert f"mirror.corp.example/golang:{version}-trixie" in images
    assert all(
        i.startswith(("mirror.corp.example/golang:", PREFIX + "/gcr.io/distroless/"))
        for i in images
    ), images


def test_upstream_mirrors_become_per_image_maps_for_the_chosen_scaffold(tmp_path: Path) -> None:
    """Harbor/Artifactory layout: one proxy project per upstream registry."""
    write(
        tmp_path / "stagekit.toml",
        '[registry]\nprefix = "fallback.example"\n'
        '[registry.upstreams]\n"index.docker.io" = "harbor.corp.example/dockerhub"\n'
        '"gcr.io" = "harbor.corp.example/gcr"\n'
        '[registry.map]\nalpine = "harbor.corp.example/base/alpine"\n',
    )
    config = load_config(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert dict(config.registry.upstreams) == {
        "docker.io": "harbor.corp.example/dockerhub",
        "gcr.io": "harbor.corp.example/gcr",
    }
    scaffold = builtin(Language.GO)
    registry = config.registry.context(scaffold)
    assert registry is not None
    assert registry["map"]["golang"] == "harbor.corp.example/dockerhub/library/golang"
    assert registry["map"]["alpine"] == "harbor.corp.example/base/alpine", "map wins"
    distroless = "gcr.io/distroless/static-debian13"
    assert registry["map"][distroless] == "harbor.corp.example/gcr/distroless/static-debian13"
    for base in scaffold.bases:
        answers = validate(scaffold, {**defaults(scaffold, {}), "owner": "O", "base": base.value})
        project = generate(scaffold, answers, tmp_path / base.value, registry=registry).path
        for image in external_images((project / "Dockerfile").read_text()):
            assert image == "scratch" or image.startswith("harbor.corp.example/"), image
    assert config.registry.context() == {
        "prefix": "fallback.example",
        "map": {"alpine": "harbor.corp.example/base/alpine"},
    }
    assert OrgConfig().registry.context(scaffold) is None


def test_the_org_registry_reaches_the_rendered_dockerfile_through_the_cli(tmp_path: Path) -> None:
    write(
        tmp_path / "stagekit.toml",
        f'[registry]\nprefix = "{PREFIX}"\n'
        '[registry.map]\n"docker.io/library/golang" = "mirror.corp.example/golang"\n',
    )
    result = run_cli(
        "new", "reg", "--lang", "go", "--base", "scratch", "--no-input",
        cwd=tmp_path, env=isolated_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    images = external_images((tmp_path / "reg" / "Dockerfile").read_text())
    assert {i.split(":")[0] for i in images} == {
        "mirror.corp.example/golang",
        PREFIX + "/gcr.io/distroless/static-debian13",
        "scratch",
    }
