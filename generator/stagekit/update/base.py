"""Where BASE and THEIRS come from, and rendering them off-tree with the normal render path.

BASE is re-rendered, never stored: a built-in scaffold from the revision archive stagekit ships
(works offline and in a ``git clone --depth 1``, where a private ref would not have come along),
a folder scaffold from its recorded path while its content digest still matches, a git scaffold
from its recorded commit (cloned again). When none of those can give BASE, update falls back to
two-way mode driven by the recorded per-file digests, and says so.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagekit.contract import (
    DOCKERFILE,
    RECORD_FILE,
)
from stagekit.errors import EngineError, RegistryError, ScaffoldError, UpdateError
from stagekit.model.answers import Answers
from stagekit.model.catalog import TEMPLATE_DIR, Scaffold, builtin
from stagekit.model.digest import content_files, tree_digest
from stagekit.model.project import record_text
from stagekit.new.render import generate
from stagekit.org.project_files import carried_files
from stagekit.org.sources import clone, load_custom, open_scaffold, parse_spec
from stagekit.pin.refs import ImageRef, base_images, rewrite
from stagekit.pin.resolve import EngineResolver
from stagekit.pin.run import with_pins
from stagekit.update.record import Record
from stagekit.update.shipped import extract


@dataclass(frozen=True)
class Rendered:
    """A render off-tree: its folder, and each file's pairing key → relative path."""

    root: Path
    paths: dict[str, str]  # key → relative path (the key is the template file when known)
    record: bytes  # the .stagekit.json the render wrote
    notes: tuple[str, ...] = ()  # what pinning the render did beyond the recorded pins

    def read(self, key: str) -> bytes:
        return (self.root / self.paths[key]).read_bytes()

    def mode(self, key: str) -> int:
        return (self.root / self.paths[key]).stat().st_mode & 0o777


@contextmanager
def base_scaffold(record: Record) -> Iterator[Scaffold | None]:
    """The scaffold revision the project was made from, or None when it is gone."""
    with tempfile.TemporaryDirectory(prefix="stagekit-base-") as tmp:
        if record.kind == "builtin":
            shipped = extract(record.answers.language.value, record.version, Path(tmp))
            yield load_custom(shipped, record.name, "builtin")
        elif record.kind == "folder":
            folder = record.folder
            if folder is None or not folder.is_dir() or tree_digest(folder) != record.digest:
                yield None
            else:
                yield load_custom(folder, record.name, record.source)
        else:
            yield _git_at_commit(record, Path(tmp))


def _git_at_commit(record: Record, tmp: Path) -> Scaffold | None:
    from stagekit.update.gitrepo import git

    source = parse_spec(record.source, record.name)
    checkout = tmp / "repo"
    commit = str(record.commit)
    try:
        clone(source, checkout)
    except ScaffoldError:
        return None  # the repository is gone or unreachable: two-way mode
    if git(checkout, "fetch", "--quiet", "--depth", "1", "origin", commit, check=False).returncode:
        git(checkout, "fetch", "--quiet", "--unshallow", check=False)
    if git(checkout, "checkout", "--quiet", commit, check=False).returncode:
        return None
    folder = checkout / source.subdirectory if source.subdirectory else checkout
    return load_custom(folder, record.name, record.source)


@contextmanager
def target_scaffold(record: Record, spec: str | None) -> Iterator[tuple[Scaffold, str | None]]:
    """The scaffold to update to (``spec``, else where the project came from), and its commit."""
    if spec is None and record.kind == "builtin":
        yield builtin(record.answers.language), None
        return
    if spec is None and record.kind == "folder" and record.folder is not None:
        spec = str(record.folder)
    with open_scaffold(spec or record.source) as opened:
        if opened.scaffold.language is not record.answers.language:
            raise UpdateError(
                f"scaffold {opened.scaffold.name!r} is for {opened.scaffold.language},"
                f" the project is {record.answers.language}"
            )
        yield opened.scaffold, opened.commit


def render(
    scaffold: Scaffold,
    answers: Answers,
    record: Record,
    workdir: Path,
    *,
    commit: str | None = None,
    repin: bool = False,
) -> Rendered:
    """Render like ``stagekit new`` did (same registry and network files) into ``workdir``.

    A pinned project's pins are applied to the render, so a pinned ``FROM`` is not a user edit;
    with ``repin``, a reference the pins do not cover (the scaffold moved its tag) is resolved.
    """
    files, extra = _network(scaffold, record)
    if commit:
        extra["scaffold"] = {"commit": commit}
    workdir.mkdir(parents=True, exist_ok=True)
    dest = workdir / answers.project_name
    generate(
        scaffold,
        answers,
        dest,
        registry=record.registry,
        extra_files=files,
        record=extra,
    )
    notes = _apply_pins(dest, record.pins, repin) if record.pins else ()
    keys = _keys(scaffold, answers)
    paths: dict[str, str] = {}
    for relative, _ in content_files(dest):
        if relative == RECORD_FILE:
            continue
        paths[keys.get(relative, "out:" + relative)] = relative
    return Rendered(dest, paths, (dest / RECORD_FILE).read_bytes(), notes)


def _apply_pins(dest: Path, pins: Mapping[str, str], repin: bool) -> tuple[str, ...]:
    """Write ``pins`` into the render's Dockerfile and record; re-pin moved tags if asked."""
    dockerfile = dest / DOCKERFILE
    if not dockerfile.is_file():
        return ()
    text = dockerfile.read_text(encoding="utf-8")
    used = {image.ref.tagged for image in base_images(text)}
    wanted = {tagged: digest for tagged, digest in pins.items() if tagged in used}
    notes: list[str] = []
    if repin:
        resolver: EngineResolver | None = None  # made only when something is to be asked
        try:
            for tagged in sorted(used - set(wanted)):
                try:
                    resolver = resolver or EngineResolver()
                    wanted[tagged] = resolver.digest(ImageRef.parse(tagged))
                    notes.append(f"re-pinned {tagged}: the scaffold moved to it")
                except (RegistryError, EngineError) as exc:
                    notes.append(
                        f"{tagged} left unpinned (the scaffold moved to it and {exc.message});"
                        " run stagekit pin once the registry answers"
                    )
        finally:
            if resolver is not None:
                resolver.close()
    pinned = rewrite(text, wanted)
    record_path = dest / RECORD_FILE
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record = with_pins(record, wanted, text.encode(), pinned.encode())
    dockerfile.write_text(pinned, encoding="utf-8")
    record_path.write_text(record_text(record), encoding="utf-8")
    return tuple(notes)


def _network(scaffold: Scaffold, record: Record) -> tuple[dict[str, str], dict[str, Any]]:
    """The files stagekit wrote after cookiecutter, rebuilt from the recorded network settings."""
    network = record.network
    args = {str(k): str(v) for k, v in (network.get("build_args") or {}).items()}
    honoured = set(scaffold.network_args)
    args = {k: v for k, v in args.items() if k in honoured or k.upper().endswith("_PROXY")}
    ca = network.get("ca_bundle")
    files = carried_files(scaffold, args, Path(ca) if ca else None, ())
    return files, ({"network": network} if network else {})


def _keys(scaffold: Scaffold, answers: Answers) -> dict[str, str]:
    """Rendered path → the template file that produced it, for paths built from answers."""
    from jinja2 import Environment, StrictUndefined, TemplateError

    env = Environment(undefined=StrictUndefined, autoescape=False)
    context = {"cookiecutter": answers.context()}
    keys: dict[str, str] = {}
    template_root = scaffold.path / TEMPLATE_DIR
    for relative, _ in content_files(template_root):
        try:
            rendered = env.from_string(relative).render(context)
        except TemplateError:
            continue  # a path built from more than answers: paired by output path
        keys[rendered] = "tpl:" + relative
    return keys


@contextmanager
def workspace() -> Iterator[Path]:
    with ExitStack() as stack:
        yield Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stagekit-update-")))
