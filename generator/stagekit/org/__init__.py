"""What an organisation sets for every project: the org config and the scaffold sources.

``config`` finds and merges ``stagekit.toml`` files (user, folder, ``--config``), ``rules`` checks
one file's contents, ``sources`` opens a scaffold from a folder or git, and ``project_files``
writes what the config adds to a project (``build-args.env``, the bake override). The types the
config is made of live in ``stagekit.model.config``.
"""

from __future__ import annotations

from stagekit.org.config import discover, load_config, user_config_path
from stagekit.org.sources import list_scaffolds, open_scaffold, parse_spec

__all__ = [
    "discover",
    "list_scaffolds",
    "load_config",
    "open_scaffold",
    "parse_spec",
    "user_config_path",
]
