"""Errors of the suite's engine machinery: each carries a message and a hint a person can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.engine.standins import StandinResult


class EngineError(Exception):
    """Base class: something about the suite's engine or its images that a person can fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class EngineInstallError(EngineError):
    """Installing Docker Engine, buildx or mmdebstrap failed."""


class DaemonStartError(EngineError):
    """The suite's dockerd did not answer in time; the message ends with its log's tail."""


class StandinError(EngineError):
    """Provisioning a stand-in base image failed."""


class UnknownImageRefError(StandinError, LookupError):
    """No recipe matches this image reference."""

    def __init__(self, ref: str, known: Sequence[str]) -> None:
        super().__init__(
            f"no stand-in recipe for image {ref!r}",
            "stand-ins exist for: " + ", ".join(known),
        )
        self.ref = ref


class StandinUnavailable(StandinError):  # noqa: N818 - the name tests import and skip on
    """Some references are known but cannot be reconstructed on this machine.

    ``ensure_images`` still provisions every other reference first; ``results`` holds those, and
    ``reasons`` maps each unavailable reference to why, so a test can skip with that reason.
    """

    def __init__(
        self,
        reasons: Mapping[str, str],
        results: Sequence[StandinResult] = (),
    ) -> None:
        text = "; ".join(f"{ref}: {why}" for ref, why in reasons.items())
        super().__init__(text)
        self.reasons = dict(reasons)
        self.results = list(results)
