"""The Docker Engine as smoke sees it: endpoint, builds, loopback ports, image filesystems.

``client`` resolves and pings the engine and runs ``docker buildx build``; ``loopback`` finds
free ports on 127.0.0.1 for containers; ``imagefs`` reads an image's filesystem from
``docker save`` output. Nothing here knows about scaffolds or projects.
"""

from __future__ import annotations

from stagekit.engine.client import Endpoint, ping, resolve_endpoint

__all__ = ["Endpoint", "ping", "resolve_endpoint"]
