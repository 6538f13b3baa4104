"""The facts of the staged-Dockerfile contract (/work/shared/DOCKERFILE_CONTRACT.md, docs/).

Every generated project has these stages, labels, files and targets; ``stagekit new`` writes
them, ``stagekit lint`` checks them in the files, ``stagekit smoke`` checks them in the images.
Each fact is defined here once and imported everywhere else.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Stage(StrEnum):
    """The stages every generated Dockerfile has, in file order; ``release`` is last."""

    BUILD = "build"
    TEST = "test"
    DEBUG = "debug"
    RELEASE = "release"


#: The OCI annotation keys the release image carries as labels, in the Dockerfile's order.
OCI_LABEL_KEYS = ("title", "description", "source", "version", "revision", "created", "licenses")
OCI_LABEL_PREFIX = "org.opencontainers.image"
OCI_LABELS = tuple(f"{OCI_LABEL_PREFIX}.{key}" for key in OCI_LABEL_KEYS)

#: The roles a scaffold's catalog names an image for (the ``FROM`` of the stages of that name).
IMAGE_ROLES = (Stage.BUILD.value, Stage.DEBUG.value, Stage.RELEASE.value)

#: The project record ``stagekit new`` writes and ``smoke``/``lint`` read back.
RECORD_FILE = ".stagekit.json"
DOCKERFILE = "Dockerfile"
MAKEFILE = "Makefile"
COMPOSE_FILE = "compose.yaml"
BAKE_FILE = "docker-bake.hcl"
#: Written by ``stagekit new`` when the org config has network settings.
BUILD_ARGS_FILE = "build-args.env"
BAKE_OVERRIDE_FILE = "docker-bake.override.hcl"

#: A build argument's name (``ARG NAME``), as BuildKit, env files and Makefiles all accept it.
BUILD_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: The bake targets that build one stage each (target name = stage name).
BAKE_STAGE_TARGETS = (Stage.TEST.value, Stage.DEBUG.value, Stage.RELEASE.value)
#: The multi-platform release target, and the platforms it builds.
BAKE_MULTI_TARGET = "release-multi"
MULTI_PLATFORMS = ("linux/amd64", "linux/arm64")
BAKE_TARGETS = (*BAKE_STAGE_TARGETS, BAKE_MULTI_TARGET)
#: The bake group ``default`` builds exactly this.
BAKE_DEFAULT_TARGETS = (Stage.RELEASE.value,)

#: The Makefile's targets: one per stage, then the conveniences.
MAKE_TARGETS = (*(stage.value for stage in Stage), "run", "smoke", "lint", "clean")
#: The targets the CI workflow builds (docker/bake-action, or docker/build-push-action).
CI_TARGETS = (Stage.TEST.value, Stage.RELEASE.value)
