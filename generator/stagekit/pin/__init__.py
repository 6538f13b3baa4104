"""``stagekit pin``: base images pinned by digest, in the Dockerfile and the project record.

``refs`` finds the ``FROM`` images and writes digests into them; ``resolve`` asks the registry,
through the Docker Engine, which digest a tag has; ``run`` is ``pin`` and ``pin --check``.
"""

from __future__ import annotations

from stagekit.pin.refs import ImageRef, base_images, rewrite
from stagekit.pin.resolve import EngineResolver, Resolver
from stagekit.pin.run import PinReport, check, pin

__all__ = [
    "EngineResolver",
    "ImageRef",
    "PinReport",
    "Resolver",
    "base_images",
    "check",
    "pin",
    "rewrite",
]
