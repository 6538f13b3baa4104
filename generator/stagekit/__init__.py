"""stagekit: scaffold a Go, Rust or Python service with a staged, proven Dockerfile.

The library API is small and typed; the CLI (``stagekit.cli.main``) is a thin layer over it. Heavy
modules (cookiecutter, questionary, the docker SDK) are imported only by the functions that use
them, so ``stagekit --version`` and ``stagekit new --no-input`` start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
