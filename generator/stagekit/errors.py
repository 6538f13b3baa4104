"""The one exception hierarchy for errors a user can act on, and their exit codes.

Every error stagekit raises on purpose is a :class:`StagekitError`: a one-line message, an optional
hint saying what to do, and the exit code the CLI maps it to. Only ``stagekit.cli.main`` prints
them.
"""

from __future__ import annotations

from collections.abc import Sequence

# Exit codes, documented in docs/cli.md. Kept small and stable: scripts depend on them.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # smoke or lint ran and found a problem
EXIT_USAGE = 2  # bad input: answers, names, files, flags
EXIT_ENGINE = 3  # no Docker Engine (or registry) answering, or BuildKit missing
EXIT_BUILD = 4  # an image build failed
EXIT_CONFLICTS = 5  # stagekit update left conflicts to resolve
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away (`stagekit ... | head`): 128 + SIGPIPE


class StagekitError(Exception):
    """Base class: a message a user can act on, with a hint and an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ValidationError(StagekitError, ValueError):
    """An answer (name, port, version, ...) breaks a rule."""

    def __init__(self, field: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{field}: {message}", hint)
        self.field = field


class MissingAnswerError(StagekitError):
    """An answer is needed and there is no terminal to ask on."""

    def __init__(self, field: str, flag: str) -> None:
        super().__init__(
            f"missing answer for {field}: pass {flag}, or --no-input to take the default",
            "interactive session required: run in a terminal, or pass --no-input or --answers FILE",
        )
        self.field = field
        self.flag = flag


class UnsupportedCombinationError(StagekitError):
    """The catalog does not support the chosen combination (e.g. a version on a base)."""


class AnswersFileError(StagekitError):
    """An answers file cannot be read or is not a mapping of answers."""


class ScaffoldError(StagekitError):
    """A scaffold (built-in or custom) is missing or does not follow the scaffold layout."""


class DestinationError(StagekitError):
    """The destination folder cannot be written as asked."""


class RenderError(StagekitError):
    """cookiecutter failed to render the scaffold."""


class NotAProjectError(StagekitError):
    """A folder is not a project made by stagekit."""


class ConfigError(StagekitError):
    """An org configuration file is unreadable or invalid."""


class AbortedError(StagekitError):
    """The user cancelled (Ctrl-C or declined the confirmation)."""

    exit_code = EXIT_INTERRUPTED


class EngineError(StagekitError):
    """No Docker Engine answers, or it lacks what stagekit needs (BuildKit/buildx)."""

    exit_code = EXIT_ENGINE


class ToolMissingError(StagekitError):
    """A tool a command needs is not installed (the hint says how to install it)."""


class RegistryError(StagekitError):
    """A registry did not answer, or has no such tag (the engine itself did answer)."""

    exit_code = EXIT_ENGINE


class BuildError(StagekitError):
    """``docker buildx build`` of a stage failed; carries the tail of its log."""

    exit_code = EXIT_BUILD

    def __init__(self, stage: str, log_tail: str, hint: str | None = None) -> None:
        super().__init__(f"build of stage {stage!r} failed", hint)
        self.stage = stage
        self.log_tail = log_tail


class UpdateError(StagekitError):
    """``stagekit update`` cannot proceed (no BASE, an update in progress, ...)."""


class DirtyTreeError(UpdateError):
    """Files ``stagekit update`` manages have uncommitted changes."""

    def __init__(self, paths: Sequence[str]) -> None:
        shown = ", ".join(paths[:8]) + (f" (+{len(paths) - 8} more)" if len(paths) > 8 else "")
        super().__init__(
            f"uncommitted changes in files stagekit update manages: {shown}",
            "commit or stash them first (git stash), then run stagekit update again",
        )
        self.paths = list(paths)


class NotAGitTreeError(UpdateError):
    """The project is not inside a git work tree."""
