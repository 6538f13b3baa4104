# ruff: noqa: RUF001 -- the multiplication sign, dash and comparison signs are meant: people read them
"""Numbers: medians, ratios, targets, and how each is printed."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

#: The contract's bound for scratch images: payload + 0.5 MB (decimal, as docker prints sizes).
SCRATCH_ALLOWANCE = 500_000
NAIVE_RATIO_MIN = 100.0
REBUILD_RATIO_MAX = 0.4
GENERATION_RATIO_MAX = 1.1

MET = "✓"
MISSED = "✗"
UNMEASURED = "–"


def median(values: Iterable[float]) -> float | None:
    """The median, or None when there is nothing to take it of."""
    data = [float(v) for v in values]
    return statistics.median(data) if data else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def format_bytes(size: int | float | None) -> str:
    """Decimal units, as docker prints sizes: ``7.26 MB``, ``950 kB``, ``12 B``."""
    if size is None:
        return "-"
    sign = "-" if size < 0 else ""
    value = float(abs(size))
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.3g} {unit}"
        value /= 1000
    return f"{sign}{value:.3g} GB"


def format_seconds(seconds: float | None) -> str:
    """``850 ms`` below a second, ``12.3 s`` below ten minutes, else ``12m05s``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 600:
        return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def format_ratio(value: float | None) -> str:
    """``118×``, ``8.5×``, ``0.27×``."""  # noqa: RUF002
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}×"
    if value >= 10:
        return f"{value:.1f}×"
    return f"{value:.2f}×"


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, and whether this run met it (None: not measured)."""

    name: str
    met: bool | None
    detail: str

    @property
    def symbol(self) -> str:
        if self.met is None:
            return UNMEASURED
        return MET if self.met else MISSED

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "met": self.met, "detail": self.detail}


def size_target(
    label: str, image: int | None, payload: int | None, allowance: int = SCRATCH_ALLOWANCE
) -> Target:
    """Release image ≤ payload + allowance."""
    name = f"{label}: release ≤ payload + {format_bytes(allowance)}"
    if image is None or payload is None:
        return Target(name, None, "not measured")
    overhead = image - payload
    met = overhead <= allowance
    how = "within" if met else f"{format_bytes(overhead - allowance)} over"
    return Target(
        name,
        met,
        f"{format_bytes(image)} = payload {format_bytes(payload)} + {format_bytes(overhead)}"
        f" ({how} the allowance)",
    )


def naive_target(label: str, naive: int | None, ours: int | None) -> Target:
    """Naive single-stage image / ours >= 100 times."""
    name = f"{label}: naive single-stage / ours ≥ {NAIVE_RATIO_MIN:.0f}×"
    value = ratio(naive, ours)
    if value is None:
        return Target(name, None, "not measured")
    return Target(
        name,
        value >= NAIVE_RATIO_MIN,
        f"{format_bytes(naive)} / {format_bytes(ours)} = {format_ratio(value)}",
    )


def rebuild_target(
    label: str,
    cold: float | None,
    rebuild: float | None,
    dependency_cached: bool | None,
    dependency_step: str | None = "",
) -> Target:
    """Rebuild after a one-line change <= 0.4 x cold, with the dependency step cached."""
    name = f"{label}: rebuild ≤ {REBUILD_RATIO_MAX} × cold, dependency step cached"
    value = ratio(rebuild, cold)
    if value is None or dependency_cached is None:
        return Target(name, None, "not measured")
    fast = value <= REBUILD_RATIO_MAX
    if dependency_step is None:
        cached = "NOT found (no RUN fetches dependencies before the sources are copied)"
        dependency_cached = False
    else:
        cached = "cached" if dependency_cached else "NOT cached"
    return Target(
        name,
        fast and dependency_cached,
        f"{format_seconds(rebuild)} / {format_seconds(cold)} = {value:.2f} × cold;"
        f" dependency step {cached}",
    )


def generation_target(label: str, stagekit: float | None, cookiecutter: float | None) -> Target:
    """``stagekit new`` <= 1.1 x plain cookiecutter (medians)."""
    name = f"{label}: stagekit new ≤ {GENERATION_RATIO_MAX} × plain cookiecutter"
    value = ratio(stagekit, cookiecutter)
    if value is None:
        return Target(name, None, "not measured")
    return Target(
        name,
        value <= GENERATION_RATIO_MAX,
        f"median {format_seconds(stagekit)} vs {format_seconds(cookiecutter)} = {value:.3f} ×",
    )


UPDATE_RATIO_MAX = 2.0


def update_target(label: str, update: float | None, new: float | None) -> Target:
    """``stagekit update --no-lint`` of an untouched project <= 2 x ``stagekit new`` (issue 16)."""
    name = f"{label}: stagekit update ≤ {UPDATE_RATIO_MAX:g} × stagekit new"
    value = ratio(update, new)
    if value is None:
        return Target(name, None, "not measured")
    return Target(
        name,
        value <= UPDATE_RATIO_MAX,
        f"median {format_seconds(update)} vs {format_seconds(new)} = {value:.2f} ×",
    )


def reproducible_target(label: str, first: str | None, second: str | None) -> Target:
    """The two builds (each after a prune, same SOURCE_DATE_EPOCH) have one image ID."""
    name = f"{label}: identical image IDs"
    if first is None or second is None:
        return Target(name, None, "not built twice")
    same = first == second
    detail = short_id(first) if same else f"{short_id(first)} ≠ {short_id(second)}"
    return Target(name, same, detail)


def short_id(image_id: str | None) -> str:
    if not image_id:
        return "-"
    return image_id.removeprefix("sha256:")[:12]
