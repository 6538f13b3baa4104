"""The inventory as stagekit reads it, from a real Syft run over a folder laid out like an image.

The folder holds what the release images hold for scanners: a venv distribution's metadata, a
distroless-style dpkg record with its md5sums, and an os-release. No engine is needed: Syft
reads folders as it reads images (``dir:``); the docker tier runs it on every release image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from stagekit.cli.main import main
from stagekit.errors import ToolMissingError
from stagekit.sbom.syft import catalogue
from stagekit.smoke.checks import judge_inventory

from tests.helpers import render_project

OS_RELEASE = (
    'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\n'
    "ID=debian\n"
)


def image_like(root: Path) -> Path:
    site = root / "app/.venv/lib/python3.13/site-packages/anyio-4.16.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.4\nName: anyio\nVersion: 4.16.0\n")
    (site / "RECORD").write_text("anyio/__init__.py,,\n")
    records = root / "var/lib/dpkg/status.d"
    records.mkdir(parents=True)
    (records / "libffi8").write_text(
        "Package: libffi8\nSource: libffi\nVersion: 3.4.8-2\nArchitecture: amd64\n"
        "Maintainer: Debian\nInstalled-Size: 80\n"
    )
    (records / "libffi8.md5sums").write_text(
        "0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libffi.so.8.1.4\n"
    )
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text(OS_RELEASE)
    return root


def test_syft_reads_the_records_stagekit_writes(tmp_path: Path) -> None:
    found = catalogue(f"dir:{image_like(tmp_path / 'root')}", os.environ)
    assert found.of_type("python") == {"anyio": "4.16.0"}
    assert found.of_type("deb") == {"libffi8": "3.4.8-2"}
    assert found.distro == "debian 13"
    [deb] = [c for c in found.components if c.type == "deb"]
    assert "distro=debian-13" in deb.purl
    assert sorted(found.counts().items()) == [("deb", 1), ("python", 1)]
    assert judge_inventory(found, "python").ok
    verdict = judge_inventory(found, "rust")
    assert verdict.failed and "cargo auditable" in verdict.detail


def test_syft_writes_a_cyclonedx_document_that_validates(tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    sbom = tmp_path / "sbom.cdx.json"
    catalogue(f"dir:{image_like(tmp_path / 'root')}", os.environ, cyclonedx=sbom)
    text = sbom.read_text()
    version = SchemaVersion.from_version(json.loads(text)["specVersion"])
    assert JsonStrictValidator(version).validate_str(text) is None
    broken = json.loads(text) | {"bomFormat": "SPDX"}
    assert JsonStrictValidator(version).validate_str(json.dumps(broken)) is not None


def test_smoke_sbom_without_syft_is_refused_before_anything_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render_project(tmp_path, "go", "scratch")
    monkeypatch.setattr("stagekit.sbom.syft.find_tool", lambda _name: None)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert main(["smoke", str(project), "--sbom", str(tmp_path / "sbom.json")]) == 2
    err = capsys.readouterr().err
    assert "syft is not installed" in err and "stagekit[sbom]" in err
    with pytest.raises(ToolMissingError):
        catalogue("dir:/nonexistent", os.environ)
