"""``stagekit smoke``: build every stage of a project on a real engine and judge the images.

``run`` drives it; ``runtime`` builds and runs containers; ``checks`` holds the judgements (each a
:class:`~stagekit.smoke.checks.CheckResult`); ``report`` and ``output`` describe the outcome.
"""

from __future__ import annotations

from stagekit.smoke.report import SmokeOptions, SmokeReport
from stagekit.smoke.run import smoke

__all__ = ["SmokeOptions", "SmokeReport", "smoke"]
