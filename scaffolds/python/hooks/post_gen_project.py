"""Drop what the chosen base does not use: docker/python_runtime.py builds the scratch runtime."""

import shutil
from pathlib import Path

BASE = "{{ cookiecutter.base }}"

if BASE != "scratch":
    shutil.rmtree(Path("docker"))
