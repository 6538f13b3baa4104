"""``stagekit update``, ``check`` and ``diff``: carry a project forward to a newer scaffold.

``record`` reads what ``.stagekit.json`` says about the project's origin; ``base`` re-renders it
as made (BASE) and as the scaffold makes it now (THEIRS); ``merge`` and ``plan`` decide per file;
``apply`` writes, in a git working tree; ``run`` is the library entry; ``shipped`` holds the
archived revisions of the built-in scaffolds (``python -m stagekit.update.shipped`` adds one).
"""

from __future__ import annotations

from typing import Any

__all__ = ["UpdateResult", "UpdateStatus", "check", "update"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m stagekit.update.shipped` does not import run (and shipped) first.
    if name in __all__:
        from stagekit.update import run

        return getattr(run, name)
    raise AttributeError(f"module 'stagekit.update' has no attribute {name!r}")
