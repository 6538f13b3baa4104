"""``python -m stagekit``: the same as the ``stagekit`` command."""

from stagekit.cli import main

raise SystemExit(main())
