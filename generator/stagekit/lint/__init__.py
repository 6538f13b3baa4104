"""``stagekit lint``: a project's files against the Dockerfile contract, one module per family.

``run`` registers the checks and runs them; ``dockerfile_parse`` is BuildKit's parse of a
Dockerfile (instructions, stages, ARG expansion) and ``dockerfile`` the contract's rules on it;
``docker`` runs the engine's own tools (buildx --check, compose config, bake --print);
``project`` checks the files around the Dockerfile; ``update_state`` finds what an unfinished
``stagekit update`` left behind.
"""

from __future__ import annotations

from stagekit.lint.run import CHECKS, LintReport, format_report, lint

__all__ = ["CHECKS", "LintReport", "format_report", "lint"]
