"""The image's health probe: ``python -m {{ cookiecutter.__package_name }}.healthcheck``.

Exits 0 if and only if ``http://127.0.0.1:$PORT/healthz`` answers 200 within 2 seconds. Standard
library only (no curl, no shell), so it runs on distroless and scratch.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from {{ cookiecutter.__package_name }}.settings import SettingsError, parse_port

TIMEOUT = 2.0


def probe(port: int, timeout: float = TIMEOUT) -> bool:
    url = f"http://127.0.0.1:{port}/healthz"
    # No proxy: an HTTP_PROXY in the container's environment must not see the probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def main() -> int:
    try:
        port = parse_port(os.environ.get("PORT", ""))
    except SettingsError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    healthy = probe(port)
    if not healthy:
        print(f"healthcheck: http://127.0.0.1:{port}/healthz did not answer 200", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
