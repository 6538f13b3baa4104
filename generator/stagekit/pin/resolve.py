"""Tag → digest, asked of the Docker Engine's distribution endpoint.

``GET /distribution/{name}/json`` (the docker SDK's ``inspect_distribution``, behind
``get_registry_data``) makes the *engine* ask the registry: the same credentials (``docker
login``), the same insecure-registry, mirror, proxy and CA settings as the engine's own pulls and
BuildKit's pulls through it. Speaking the registry HTTP API ourselves would need a second copy of
all of that (token auth, Accept headers for indexes, TLS trust). The digest it returns is the
descriptor the tag points at: the multi-platform index where there is one, which is what a
``FROM name:tag@digest`` must name for the build to pick each platform's image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from stagekit.engine.client import Endpoint, resolve_endpoint
from stagekit.errors import EngineError, RegistryError
from stagekit.pin.refs import ImageRef, is_digest

if TYPE_CHECKING:
    from docker import DockerClient


class Resolver(Protocol):
    """Gives the digest a registry serves for a ``name:tag``."""

    def digest(self, ref: ImageRef) -> str: ...


class EngineResolver:
    """The Docker Engine's distribution endpoint (one client, opened on first use; a context
    manager, so that whoever made it closes it)."""

    def __init__(self, endpoint: Endpoint | None = None, timeout: int = 60) -> None:
        self.endpoint = endpoint or resolve_endpoint()
        self.timeout = timeout
        self._client: DockerClient | None = None

    def digest(self, ref: ImageRef) -> str:
        import docker

        client = self._open()
        try:
            data = client.images.get_registry_data(ref.tagged).attrs
        except docker.errors.NotFound as exc:
            raise RegistryError(
                f"{ref.registry} has no {ref.tagged} ({_reason(exc)})",
                "check the tag, and the org config's [registry] mapping (`stagekit doctor`)",
            ) from None
        except docker.errors.APIError as exc:
            raise RegistryError(
                f"the registry {ref.registry} did not answer for {ref.tagged}: {_reason(exc)}",
                "is the registry up and reachable from the Docker Engine? Pins are unchanged",
            ) from None
        except (docker.errors.DockerException, OSError) as exc:
            raise EngineError(
                f"no Docker Engine answers at {self.endpoint.host} ({self.endpoint.source})",
                f"start Docker (or set DOCKER_HOST); pin asks the registry through it ({exc})",
            ) from None
        digest = str((data.get("Descriptor") or {}).get("digest", ""))
        if not is_digest(digest):
            raise RegistryError(f"{ref.registry} gave no sha256 digest for {ref.tagged}")
        return digest

    def _open(self) -> DockerClient:
        if self._client is None:
            self._client = self.endpoint.client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        """Close the client's connections (a no-op when it was never opened)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> EngineResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: Exception) -> str:
    """The registry's own words, on one line."""
    text = str(getattr(exc, "explanation", None) or exc)
    return " ".join(text.split())[:300]
