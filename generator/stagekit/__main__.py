"""``python -m stagekit``: the same as the ``stagekit`` command."""

from stagekit.cli.main import main

raise SystemExit(main())
