"""What a release image's inventory must hold, from the sources of truth, and what it lacks.

Each function returns the entries missing from (or wrong in) Syft's inventory, as
``name version (why)`` lines; an empty list is a complete inventory. The truths are read, never
written down here: ``go version -m`` of the binary, ``cargo tree`` and ``cargo metadata`` of the
project, the venv's dist-info folders against uv.lock, and the image's own dpkg records.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

from stagekit.sbom import Inventory

from tests.helpers import native_caches

RUST_TARGET = "x86_64-unknown-linux-gnu"


def _wrong(inventory: Inventory, kind: str, wanted: dict[str, str]) -> list[str]:
    have = inventory.of_type(kind)
    out = []
    for name, version in sorted(wanted.items()):
        if name not in have:
            out.append(f"{name} {version} (absent)")
        elif have[name].removeprefix("v") != version.removeprefix("v"):
            out.append(f"{name} {version} (inventory says {have[name]})")
    return out


def go_missing(inventory: Inventory, binary: Path) -> list[str]:
    """Every module ``go version -m`` lists for the binary, and the Go stdlib's version."""
    shown = subprocess.run(
        ["go", "version", "-m", str(binary)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **native_caches(), "GOTOOLCHAIN": "local"},
        check=True,
    ).stdout
    toolchain = shown.splitlines()[0].split(": ", 1)[1].strip()
    wanted = {"stdlib": toolchain}
    for line in shown.splitlines():
        fields = line.split("\t")
        if len(fields) >= 4 and fields[1] == "dep":
            wanted[fields[2]] = fields[3]
    return _wrong(inventory, "go-module", wanted)


def rust_missing(inventory: Inventory, project: Path) -> list[str]:
    """Every crate of ``cargo tree -e normal`` for the target, at its Cargo.lock version.

    Proc-macro crates run in the compiler, not in the binary: they and what only they depend on
    (``-e no-proc-macro`` leaves both out) may be absent.
    """
    tree = _cargo(
        project, "tree", "-e", "normal,no-proc-macro", "--target", RUST_TARGET, "--prefix", "none"
    )
    metadata = json.loads(_cargo(project, "metadata", "--format-version", "1"))
    own = {p["name"] for p in metadata["packages"] if p["source"] is None}
    wanted: dict[str, str] = {}
    for line in tree.splitlines():
        match = re.match(r"^(\S+) v(\S+)", line)
        if match and match.group(1) not in own:
            wanted[match.group(1)] = match.group(2)
    return _wrong(inventory, "rust-crate", wanted)


def _cargo(project: Path, *args: str) -> str:
    return subprocess.run(
        ["cargo", *args, "--locked"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **native_caches()},
        check=True,
    ).stdout


def python_missing(inventory: Inventory, image_tar: bytes, project: Path) -> list[str]:
    """Every distribution in the image's venv, at its uv.lock version."""
    locked = {
        _norm(p["name"]): p["version"]
        for p in tomllib.loads((project / "uv.lock").read_text())["package"]
        if "version" in p
    }
    wanted: dict[str, str] = {}
    for path in _paths(image_tar):
        match = re.match(
            r"^app/\.venv/lib/python[\d.]+/site-packages/([^/]+)-([^/-]+)\.dist-info/METADATA$",
            path,
        )
        if match:
            name = _norm(match.group(1))
            wanted[name] = locked.get(name, f"{match.group(2)} (not in uv.lock)")
    assert wanted, "no dist-info found in the venv"
    have = {_norm(n): v for n, v in inventory.of_type("python").items()}
    return [
        f"{name} {version} (inventory says {have.get(name, 'nothing')})"
        for name, version in sorted(wanted.items())
        if have.get(name) != version
    ]


def deb_records(image_tar: bytes) -> dict[str, str]:
    """Package → version of every dpkg record in the image (status file or status.d)."""
    records: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(image_tar)) as archive:
        for member in archive.getmembers():
            name = member.name.lstrip("./")
            is_record = (
                name.startswith("var/lib/dpkg/status.d/") and "." not in name.rsplit("/", 1)[-1]
            )
            if member.isfile() and (is_record or name == "var/lib/dpkg/status"):
                text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
                for stanza in text.split("\n\n"):
                    fields = dict(re.findall(r"^(Package|Version): (.+)$", stanza, re.M))
                    if "Package" in fields:
                        records[fields["Package"]] = fields["Version"]
    return records


def deb_missing(inventory: Inventory, records: dict[str, str], distro: str) -> list[str]:
    """Every recorded package, at its version, with a package URL naming the distribution."""
    found = {
        c.name: c for c in inventory.components if c.type == "deb" and f"distro={distro}" in c.purl
    }
    out = []
    for name, version in sorted(records.items()):
        component = found.get(name)
        if component is None:
            out.append(f"{name} {version} (absent, or its purl lacks distro={distro})")
        elif component.version != version:
            out.append(f"{name} {version} (inventory says {component.version})")
    return out


def image_tar(client: Any, image: str) -> bytes:
    """The image's filesystem as one tar (a container's export; the container never runs)."""
    container = client.containers.create(image, command=["never-run"])
    try:
        return b"".join(container.export())
    finally:
        container.remove(force=True)


def _paths(tar: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return [m.name.lstrip("./") for m in archive.getmembers()]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
