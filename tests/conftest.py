"""Suite-wide settings: every test is fast-tier unless marked ``docker``."""

from __future__ import annotations

import os

# Tests must never read the user's cookiecutter config or git identity by accident.
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
