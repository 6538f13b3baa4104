"""The ``stagekit`` command: argument parsing and output only, over the library.

``main`` parses and dispatches (and is the one place errors are printed and mapped to exit
codes); ``smoke`` and ``update`` hold their subcommands' arguments and output.
"""

from __future__ import annotations

from stagekit.cli.main import main

__all__ = ["main"]
