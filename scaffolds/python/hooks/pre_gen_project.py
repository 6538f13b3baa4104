"""Refuse a project name that a locked dependency already uses (as distribution or import name).

uv cannot lock a project that shares its name with one of its dependencies, and a package named
like a dependency's module would shadow it. The list is `_stagekit.reserved_names` in
cookiecutter.json, kept up to date by relock.py. This file is a Jinja template (cookiecutter
renders hooks), hence the directives for ruff.
"""
# ruff: noqa: F821
# fmt: off

import sys

NAME = {{ cookiecutter.project_name | py_str }}
RESERVED = {{ cookiecutter._stagekit.reserved_names | tojson }}

if NAME in RESERVED:
    print(
        f"ERROR: project name {NAME!r} is taken by one of the service's dependencies;"
        f" choose another (for example {NAME}-service).",
        file=sys.stderr,
    )
    sys.exit(1)
