"""stagekit's benchmarks: image sizes, rebuild times, generation time and reproducibility.

One command measures everything side by side on the same engine and machine::

    python -m benchmarks.run [--quick] [--json OUT] [--markdown docs/benchmarks.md]

The pure parts (statistics, tables, image-filesystem scans, build-log parsing, the one-line source
change, the naive Dockerfiles) live in modules of their own so the fast test tier can check them
without an engine; ``benchmarks.measure`` talks to the engine and ``benchmarks.run`` ties it all
together.
"""
