"""What a generated project carries from the org config: ``docker-bake.override.hcl`` (read by
``docker buildx bake``, which the Makefile builds through) and ``build-args.env`` (the same
arguments as an env file, read by ``stagekit smoke``).

Only the build arguments the scaffold declares in ``_stagekit.network_args`` are written, plus
BuildKit's predefined proxy arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stagekit.contract import BAKE_FILE, BAKE_OVERRIDE_FILE, BUILD_ARG_NAME, BUILD_ARGS_FILE
from stagekit.errors import ConfigError
from stagekit.filters import hcl_str
from stagekit.model.catalog import PARTIALS_DIR, TEMPLATE_DIR, Scaffold
from stagekit.model.config import OrgConfig


def build_args_file(args: Mapping[str, str], sources: Iterable[Path]) -> str:
    """``build-args.env``: one ``NAME=value`` per line, an env file ``stagekit smoke`` reads."""
    where = ", ".join(str(s) for s in sources) or "the org config"
    lines = [
        "# Build arguments from the org configuration (the [network] table of " + where + ").",
        "# Every build of this project passes them: `docker buildx bake`, and so the Makefile,",
        f"# read them from {BAKE_OVERRIDE_FILE}; `stagekit smoke` reads them here. Proxy",
        "# variables are BuildKit's predefined build arguments: not in the image history nor the",
        "# cache key.",
    ]
    lines += [f"{name}={value}" for name, value in sorted(args.items())]
    return "\n".join(lines) + "\n"


def bake_override_file(
    targets: Iterable[str], args: Mapping[str, str], ca_bundle: Path | None
) -> str:
    """``docker-bake.override.hcl``: bake reads it after docker-bake.hcl and merges it per key."""
    lines = [
        "# Written by `stagekit new` from the org configuration: `docker buildx bake` loads this",
        "# file after docker-bake.hcl and merges it key by key (the values of build-args.env).",
    ]
    if ca_bundle is not None:
        lines += ["", 'variable "CA_BUNDLE" {', f"  default = {hcl_str(str(ca_bundle))}", "}"]
    if args:
        width = max(len(name) for name in args)
        for target in targets:
            lines += ["", f"target {hcl_str(target)} {{", "  args = {"]
            lines += [
                f"    {name:<{width}} = {hcl_str(value)}" for name, value in sorted(args.items())
            ]
            lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


_BAKE_TARGET = re.compile(r'^\s*target\s+"([A-Za-z0-9][A-Za-z0-9_-]*)"', re.MULTILINE)


def bake_targets(bake_file_text: str) -> list[str]:
    """The public targets of a docker-bake.hcl (``_``-prefixed ones are internal)."""
    return list(dict.fromkeys(_BAKE_TARGET.findall(bake_file_text)))


def scaffold_bake_targets(scaffold: Scaffold) -> list[str] | None:
    """The public targets a scaffold's docker-bake.hcl declares; None when it has none.

    The targets may be declared in a partial the template extends or includes (the built-in
    scaffolds share their bake file), so those are read too, looked up where cookiecutter's
    loader looks.
    """
    from jinja2 import Environment, TemplateSyntaxError, meta

    template_dir = scaffold.path / TEMPLATE_DIR
    search = (template_dir, scaffold.path / PARTIALS_DIR)
    bake = template_dir / BAKE_FILE
    if not bake.is_file():
        return None
    texts: list[str] = []
    pending, seen = [bake], set[Path]()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        text = path.read_text(encoding="utf-8")
        texts.append(text)
        try:
            names = meta.find_referenced_templates(Environment().parse(text))
        except TemplateSyntaxError:
            continue  # cookiecutter names the error when it renders
        for name in filter(None, names):  # None: a name computed at render time
            found = [folder / name for folder in search if (folder / name).is_file()]
            pending += found[:1]  # the first folder that has it, as the loader picks
    return bake_targets("\n".join(texts))


def read_build_args(project: Path) -> dict[str, str]:
    """A project's ``build-args.env`` (what ``stagekit smoke`` passes as ``--build-arg``)."""
    path = project / BUILD_ARGS_FILE
    if not path.is_file():
        return {}
    args: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.partition("=")
        if not sep or not BUILD_ARG_NAME.fullmatch(name):
            raise ConfigError(f"{path}:{number}: not a NAME=value line")
        args[name] = value
    return args


def carried_files(
    scaffold: Scaffold, args: Mapping[str, str], ca_bundle: Path | None, sources: Iterable[Path]
) -> dict[str, str]:
    """``build-args.env`` (when there are build arguments) and ``docker-bake.override.hcl``
    (when there is anything to set and the scaffold has a bake file), by file name."""
    files: dict[str, str] = {}
    if args:
        files[BUILD_ARGS_FILE] = build_args_file(args, sources)
    if args or ca_bundle is not None:
        targets = scaffold_bake_targets(scaffold)
        if targets is not None:
            files[BAKE_OVERRIDE_FILE] = bake_override_file(targets, args, ca_bundle)
    return files


def network_files(scaffold: Scaffold, config: OrgConfig) -> tuple[dict[str, str], dict[str, Any]]:
    """The files carrying the org's network settings, and the ``network`` record (may be empty)."""
    network = config.network
    honoured = scaffold.network_args
    args = network.build_args(honoured)
    missing = network.not_declared(scaffold.language, honoured)
    if not args and network.ca_bundle is None and not missing:
        return {}, {}
    files = carried_files(scaffold, args, network.ca_bundle, config.files)
    record: dict[str, Any] = {"build_args": args}
    if network.ca_bundle is not None:
        record["ca_bundle"] = str(network.ca_bundle)
    if missing:
        record["not_declared"] = missing  # set for this language, but the Dockerfile has no ARG
    return files, record
