"""The test suite's own Docker Engine and its stand-in base images (see docs/test-engine.md).

- ``daemon``: an isolated dockerd (own data root, socket, bridge), never a user's daemon;
- ``standins``: base images rebuilt locally and tagged with their upstream references;
- ``python -m tests.engine up|images|status|down|clean``: the same from a shell.
"""
