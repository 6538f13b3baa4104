"""The machine, the engine and the toolchains a run measured with (printed with every table)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def run_text(
    command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 60
) -> str:
    """First line of a command's output, or ``unavailable (...)``."""
    try:
        result = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({type(exc).__name__})"
    text = (result.stdout or result.stderr).strip()
    if result.returncode != 0:
        return f"unavailable (exit {result.returncode}: {text.splitlines()[-1] if text else ''})"
    return text.splitlines()[0] if text else ""


def load() -> tuple[float, float, float]:
    return os.getloadavg()


def _meminfo() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else platform.machine()


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return platform.system()
    match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', text, re.M)
    return match.group(1) if match else platform.system()


def machine_facts() -> dict[str, Any]:
    """Cores, memory, CPU model, kernel, OS, load average now."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_bytes": _meminfo(),
        "kernel": platform.release(),
        "os": _os_name(),
        "arch": platform.machine(),
        "load_at_start": [round(x, 2) for x in load()],
    }


def tool_versions(stagekit: str, cookiecutter: str, cli_env: Mapping[str, str]) -> dict[str, str]:
    """Versions of what the run used: engine CLI/buildx, host toolchains, stagekit, cookiecutter."""
    venv_python = str(Path(stagekit).parent / "python")
    if not Path(venv_python).exists():
        venv_python = sys.executable
    return {
        "docker CLI": run_text(["docker", "version", "--format", "{{.Client.Version}}"], cli_env),
        "buildx": run_text(["docker", "buildx", "version"], cli_env),
        "stagekit": run_text([stagekit, "--version"]),
        # "Cookiecutter 2.7.1 from /path/site-packages (Python ...)": the version is enough.
        "cookiecutter": run_text([cookiecutter, "--version"]).split(" from ")[0],
        "python (stagekit's)": run_text([venv_python, "--version"]),
        "go (host)": run_text(["go", "version"]),
        "rustc (host)": run_text(["rustc", "--version"]),
        "cargo (host)": run_text(["cargo", "--version"]),
    }
