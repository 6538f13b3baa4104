"""``stagekit update``, ``check`` and ``diff``: carry a project forward to a newer scaffold.

``record`` reads what ``.stagekit.json`` says about the project's origin; ``base`` re-renders it
as made (BASE) and as the scaffold makes it now (THEIRS); ``merge`` and ``plan`` decide per file;
``apply`` writes, in a git working tree; ``run`` is the library entry; ``shipped`` holds the
archived revisions of the built-in scaffolds.
"""

from __future__ import annotations

from stagekit.update.run import UpdateResult, UpdateStatus, check, update

__all__ = ["UpdateResult", "UpdateStatus", "check", "update"]
