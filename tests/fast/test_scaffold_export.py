"""`stagekit scaffolds export NAME DEST`: a self-contained copy a platform team starts from.

The copy holds no links, `stagekit new --scaffold DEST` takes it as it is, and it renders the
same files as the built-in it came from, through stagekit and through plain cookiecutter alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from stagekit.model import Language

from tests.helpers import cookiecutter_cli, files_of, run_cli

LANGUAGES = [language.value for language in Language]
#: No org config but the one a test writes, and no user config from the home folder.
NO_CONFIG = ("--config", os.devnull)


def new(tmp_path: Path, dest: Path, *args: str) -> Path:
    dest.parent.mkdir()
    result = run_cli(
        "new", str(dest), "--name", "demo-svc", "--owner", "Demo Team", "--base", "scratch",
        "--no-input", *NO_CONFIG, *args, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dest


def export(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("scaffolds", "export", *args, cwd=tmp_path)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_export_renders_what_the_built_in_renders_and_passes_lint(
    tmp_path: Path, lang: str
) -> None:
    code, out, err = export(tmp_path, lang, str(tmp_path / "team"), *NO_CONFIG)
    assert code == 0, err
    assert f"--scaffold {tmp_path / 'team'}" in out
    exported = tmp_path / "team"
    links = [p for p in exported.rglob("*") if p.is_symlink()]
    assert links == [], "an export holds real files only"
    partials = sorted(p.name for p in (exported / "templates").iterdir())
    assert "Makefile.jinja" in partials, "the shared partials sit where cookiecutter's loader looks"

    builtin = files_of(new(tmp_path, tmp_path / "builtin" / "demo-svc", "--lang", lang))
    ours = new(tmp_path, tmp_path / "exported" / "demo-svc", "--scaffold", str(exported))
    plain = cookiecutter_cli(
        tmp_path, exported, "project_name=demo-svc", "owner=Demo Team", "base=scratch"
    )
    for render in (ours, plain):
        files = files_of(render)
        assert sorted(files) == sorted(builtin)
        assert [name for name in files if files[name] != builtin[name]] == []

    lint = run_cli("lint", str(ours), cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_configured_scaffold_is_exported_by_its_name(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    assert export(tmp_path, "go", str(tmp_path / "templates" / "payments"), *NO_CONFIG)[0] == 0
    config = tmp_path / "stagekit.toml"
    config.write_text('[scaffolds]\npayments = "templates/payments"\n')
    code, _, err = export(tmp_path, "payments", str(tmp_path / "copy"), "--config", str(config))
    assert code == 0, err
    assert files_of(tmp_path / "copy") == files_of(tmp_path / "templates" / "payments")


def test_an_empty_existing_dest_is_filled(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    code, _, err = export(tmp_path, "rust", str(tmp_path / "team"), *NO_CONFIG)
    assert code == 0, err
    assert (tmp_path / "team" / "cookiecutter.json").is_file()


def test_an_unknown_name_is_one_error_and_writes_nothing(tmp_path: Path) -> None:
    code, out, err = export(tmp_path, "cobol", str(tmp_path / "team"), *NO_CONFIG)
    assert code == 2 and out == ""
    assert err.splitlines()[0] == "stagekit: error: unknown scaffold 'cobol'"
    assert list(tmp_path.iterdir()) == []


def test_a_folder_path_is_not_a_name(tmp_path: Path) -> None:
    assert export(tmp_path, "go", str(tmp_path / "mine"), *NO_CONFIG)[0] == 0
    code, _, err = export(tmp_path, str(tmp_path / "mine"), str(tmp_path / "team"), *NO_CONFIG)
    assert code == 2 and "unknown scaffold" in err
    assert not (tmp_path / "team").exists()


def test_a_dest_that_is_not_empty_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    dest = tmp_path / "team"
    dest.mkdir()
    (dest / "notes.md").write_text("ours\n")
    code, _, err = export(tmp_path, "python", str(dest), *NO_CONFIG)
    assert code == 2
    assert err.splitlines()[0] == f"stagekit: error: destination {dest} exists and is not empty"
    assert [p.name for p in dest.iterdir()] == ["notes.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team"]


def test_a_configured_scaffold_that_is_not_valid_leaves_nothing_behind(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "cookiecutter.json").write_text("{}")
    config = tmp_path / "stagekit.toml"
    config.write_text('[scaffolds]\nbroken = "broken"\n')
    code, _, err = export(tmp_path, "broken", str(tmp_path / "team"), "--config", str(config))
    assert code == 2 and "missing required key" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "stagekit.toml"]


def test_listing_is_still_the_bare_command(tmp_path: Path) -> None:
    result = run_cli("scaffolds", *NO_CONFIG, cwd=tmp_path)
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()[:3]] == LANGUAGES
