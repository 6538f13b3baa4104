"""``stagekit new``: answers (flags, file, org defaults, prompts) to a rendered project.

``create`` resolves the answers and calls ``render``, which runs cookiecutter into a temporary
folder and moves the finished project into place (all or nothing); ``prompts`` asks questions
with questionary when a terminal is attached.
"""

from __future__ import annotations

from stagekit.new.create import new
from stagekit.new.render import NewResult, generate

__all__ = ["NewResult", "generate", "new"]
