"""``stagekit pin`` without a registry: reading and writing references, the record, and update.

The registry here is a table (:class:`TableResolver`): what these tests check is what pin does
with an answer, never that a registry gives one. Real resolution through the Engine and a
registry on loopback is the docker tier's (tests/docker/test_pin.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from stagekit.cli.main import main
from stagekit.errors import RegistryError
from stagekit.lint.run import lint
from stagekit.model.digest import file_digest
from stagekit.pin import ImageRef, base_images, check, pin, rewrite
from stagekit.pin.run import NEWLY_PINNED, PINNED, REPINNED, STALE, UNPINNED, UNVERIFIED

from tests.helpers import git_project, lint_tools

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


class TableResolver:
    """Answers from a table; a name missing from it is a registry that does not answer."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)
        self.asked: list[str] = []

    def digest(self, ref: ImageRef) -> str:
        self.asked.append(ref.tagged)
        if ref.tagged not in self.table:
            raise RegistryError(f"the registry {ref.registry} did not answer for {ref.tagged}")
        return self.table[ref.tagged]


def everything(project: Path, digest: str = A) -> TableResolver:
    text = (project / "Dockerfile").read_text()
    return TableResolver({image.ref.tagged: digest for image in base_images(text)})


def render(tmp_path: Path, lang: str, base: str = "distroless", *extra: str) -> Path:
    dest = tmp_path / f"{lang}-{base}"
    argv = ["new", str(dest), "--name", "demo-svc", "--lang", lang, "--base", base]
    assert main([*argv, "--no-input", "--owner", "t", "--config", "/dev/null", *extra]) == 0
    return dest


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest", "registry"),
    [
        ("golang:1.26-trixie", "golang", "1.26-trixie", None, "docker.io"),
        ("alpine", "alpine", "latest", None, "docker.io"),
        (
            f"gcr.io/distroless/static-debian13:nonroot@{A}",
            "gcr.io/distroless/static-debian13",
            "nonroot",
            A,
            "gcr.io",
        ),
        (
            "127.0.0.1:5500/library/rust:1.95",
            "127.0.0.1:5500/library/rust",
            "1.95",
            None,
            "127.0.0.1:5500",
        ),
        ("localhost/x/y", "localhost/x/y", "latest", None, "localhost"),
    ],
)
def test_references_are_split_as_the_registry_reads_them(
    text: str, name: str, tag: str, digest: str | None, registry: str
) -> None:
    ref = ImageRef.parse(text)
    assert (ref.name, ref.tag, ref.digest, ref.registry) == (name, tag, digest, registry)


@pytest.mark.parametrize("lang", ["go", "rust", "python"])
def test_every_from_image_of_each_scaffold_is_found_expanded(tmp_path: Path, lang: str) -> None:
    project = render(tmp_path, lang)
    refs = {image.ref.tagged for image in base_images((project / "Dockerfile").read_text())}
    record = json.loads((project / ".stagekit.json").read_text())
    # The catalog's images are among them (and no stage name or ${ARG} is).
    assert set(record["catalog"]["images"].values()) <= refs
    assert not any("$" in r or r.split(":")[0] in ("build", "scratch") for r in refs)


def test_pin_writes_literal_references_and_the_record(tmp_path: Path) -> None:
    project = render(tmp_path, "go")
    before = (project / "Dockerfile").read_text()
    report = pin(project, everything(project))
    after = (project / "Dockerfile").read_text()
    assert {e.state for e in report.entries} == {NEWLY_PINNED}
    assert f"FROM --platform=$BUILDPLATFORM golang:1.26-trixie@{A} AS build" in after
    assert f"FROM gcr.io/distroless/static-debian13:nonroot@{A} AS release" in after
    # Only FROM lines changed, one word each.
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed and all(a.startswith("FROM") for a, _ in changed)
    record = json.loads((project / ".stagekit.json").read_text())
    assert record["pins"] == {
        "gcr.io/distroless/static-debian13:debug-nonroot": A,
        "gcr.io/distroless/static-debian13:nonroot": A,
        "golang:1.26-trixie": A,
    }
    assert record["files"]["Dockerfile"] == file_digest(after.encode())
    # Pinning again asks again and writes nothing new.
    again = pin(project, everything(project))
    assert {e.state for e in again.entries} == {PINNED}
    assert (project / "Dockerfile").read_text() == after


def test_a_moved_tag_is_repinned(tmp_path: Path) -> None:
    project = render(tmp_path, "rust", "scratch")
    pin(project, everything(project, A))
    report = pin(project, everything(project, B))
    assert {e.state for e in report.entries} == {REPINNED}
    assert all(e.previous == A and e.digest == B for e in report.entries)
    assert A not in (project / "Dockerfile").read_text()


def test_a_registry_that_does_not_answer_changes_nothing(tmp_path: Path) -> None:
    project = render(tmp_path, "python")
    files = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    partial = everything(project)
    partial.table.pop("gcr.io/distroless/python3-debian13:nonroot")
    with pytest.raises(RegistryError, match=r"did not answer for gcr\.io/distroless/python3"):
        pin(project, partial)
    assert files == {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}


def test_check_lists_unpinned_stale_and_unverified(tmp_path: Path) -> None:
    project = render(tmp_path, "go", "scratch")
    fresh = check(project, TableResolver({}))
    assert {e.state for e in fresh.entries} == {UNPINNED}
    assert fresh.registry_error is None, "nothing pinned: nothing to ask"
    pin(project, everything(project, A))
    assert {e.state for e in check(project, everything(project, A)).entries} == {PINNED}
    stale = check(project, everything(project, B))
    assert {e.state for e in stale.entries} == {STALE}
    assert sorted({e.reference for e in stale.failing}) == [
        "gcr.io/distroless/static-debian13:debug-nonroot",
        "golang:1.26-trixie",
    ]
    down = check(project, TableResolver({}))
    assert {e.state for e in down.entries} == {UNVERIFIED}
    assert down.registry_error and "did not answer" in down.registry_error


def test_rewrite_keeps_unpinned_references_and_is_idempotent() -> None:
    text = "ARG V=1\nFROM golang:${V} AS build\nFROM build AS test\nFROM scratch AS release\n"
    once = rewrite(text, {"golang:1": A})
    assert (
        once
        == f"ARG V=1\nFROM golang:1@{A} AS build\nFROM build AS test\nFROM scratch AS release\n"
    )
    assert rewrite(once, {"golang:1": A}) == once
    assert rewrite(text, {}) == text


@pytest.mark.parametrize("lang", ["go", "rust", "python"])
def test_a_pinned_project_passes_lint(tmp_path: Path, lang: str) -> None:
    project = render(tmp_path, lang)
    pin(project, everything(project))
    report = lint(project, tools=lint_tools())
    assert report.findings == [], [f"{f.path}:{f.line} {f.message}" for f in report.findings]


def test_cli_check_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = render(tmp_path, "go", "scratch")
    capsys.readouterr()
    assert main(["pin", str(project), "--check", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and {r["state"] for r in data["references"]} == {UNPINNED}
    assert (project / "Dockerfile").read_text().count("@sha256:") == 0


def test_update_applies_recorded_pins_so_a_pinned_from_is_no_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = git_project(render(tmp_path, "go", "scratch"))
    pin(project, everything(project))
    git_project(project, "pinned")
    capsys.readouterr()
    assert main(["update", str(project), "--no-lint", "--json", "--dry-run"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["files"] == [] and data["notes"] == []


def test_update_to_a_moved_tag_without_a_registry_drops_the_stale_pin_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = git_project(render(tmp_path, "go", "scratch"))
    pin(project, everything(project))
    git_project(project, "pinned")
    capsys.readouterr()
    # The Go version moves the build image's tag; the suite's fast tier has no registry.
    code = main(["update", str(project), "--no-lint", "--json", "--set", "version=1.25"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data
    after = (project / "Dockerfile").read_text()
    assert "ARG GO_VERSION=1.25" in after and "golang:1.26-trixie" not in after
    assert "golang:${GO_VERSION}-trixie AS build" in after, "the scaffold's own, unpinned line"
    assert f"static-debian13:debug-nonroot@{A}" in after, "an unmoved pin stays"
    assert any("golang:1.25-trixie left unpinned" in note for note in data["notes"])
    record = json.loads((project / ".stagekit.json").read_text())
    assert set(record["pins"]) == {"gcr.io/distroless/static-debian13:debug-nonroot"}
    assert record["files"]["Dockerfile"] == file_digest(after.encode())


def test_a_pin_the_user_wrote_on_a_line_the_scaffold_keeps_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = git_project(render(tmp_path, "go", "scratch"))
    dockerfile = project / "Dockerfile"
    debug = "gcr.io/distroless/static-debian13:debug-nonroot"
    dockerfile.write_text(dockerfile.read_text().replace(f"FROM {debug} ", f"FROM {debug}@{B} "))
    git_project(project, "my own pin")
    capsys.readouterr()
    assert main(["update", str(project), "--no-lint", "--json", "--set", "version=1.25"]) == 0
    after = dockerfile.read_text()
    assert f"FROM {debug}@{B} " in after and "ARG GO_VERSION=1.25" in after


def test_new_pin_without_an_engine_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    config = tmp_path / "org.toml"
    config.write_text("[registry]\npin = true\n")
    for extra in (["--pin", "--config", "/dev/null"], ["--config", str(config)]):
        capsys.readouterr()
        code = main(["new", str(tmp_path / "svc"), "--lang", "go", "--no-input", *extra])
        err = capsys.readouterr().err
        assert code == 3, err
        assert "Docker Engine" in err and "nothing was created" in err
        assert not (tmp_path / "svc").exists()
    assert (
        main(["new", str(tmp_path / "svc"), "--no-input", "--config", str(config), "--no-pin"]) == 0
    )
    assert "@sha256:" not in (tmp_path / "svc" / "Dockerfile").read_text()


def test_the_org_config_pin_key_is_a_boolean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "org.toml"
    config.write_text('[registry]\npin = "yes"\n')
    assert main(["new", str(tmp_path / "svc"), "--no-input", "--config", str(config)]) == 2
    assert "registry.pin: must be true or false, not a string" in capsys.readouterr().err


def test_pin_without_an_engine_says_so_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render(tmp_path, "rust")
    before = (project / "Dockerfile").read_bytes()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    capsys.readouterr()
    assert main(["pin", str(project)]) == 3
    err = capsys.readouterr().err
    message = err.splitlines()[0]
    assert "Docker Engine" in message and "registry" not in message and err.count("\n") <= 2
    assert (project / "Dockerfile").read_bytes() == before


def test_the_engine_resolver_closes_the_client_it_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever makes an EngineResolver closes it: leaving `with` closes the one client it opened
    (the engine's client is stood in for: the fast tier has no engine)."""
    from stagekit.engine.client import Endpoint
    from stagekit.pin import EngineResolver

    class Client:
        closed = 0

        def close(self) -> None:
            self.closed += 1

    made: list[Client] = []

    def client(self: Endpoint, timeout: int = 60) -> Client:
        made.append(Client())
        return made[-1]

    monkeypatch.setattr(Endpoint, "client", client)
    with EngineResolver(Endpoint("unix:///nowhere.sock", "test")) as resolver:
        assert resolver._open() is resolver._open()  # one client per resolver
    assert [c.closed for c in made] == [1] and resolver._client is None
    resolver.close()  # closing twice is harmless
    assert [c.closed for c in made] == [1]
    with EngineResolver(Endpoint("unix:///nowhere.sock", "test")):
        pass  # never asked: no client made, none to close
    assert len(made) == 1
