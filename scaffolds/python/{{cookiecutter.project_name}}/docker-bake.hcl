# `docker buildx bake` builds the release image; `docker buildx bake test debug release` builds
# the three stages in parallel (locally, or on a remote BuildKit builder: `--builder NAME`).
# Variables come from the environment: VERSION=1.2.0 REVISION=$(git rev-parse HEAD) docker buildx bake
# CA_BUNDLE=/path/to/ca.crt hands a TLS-intercepting proxy's CA to the steps that download.

variable "IMAGE" {
  default = "{{ cookiecutter.__image_name }}"
}

variable "VERSION" {
  default = "0.1.0"
}

variable "REVISION" {
  default = "unknown"
}

# Seconds since the epoch; file times and the `created` label derive from it (reproducible builds).
variable "SOURCE_DATE_EPOCH" {
  default = "0"
}

variable "SOURCE_URL" {
  default = ""
}

variable "CA_BUNDLE" {
  default = ""
}

group "default" {
  targets = ["release"]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    VERSION           = VERSION
    REVISION          = REVISION
    SOURCE_DATE_EPOCH = SOURCE_DATE_EPOCH
    CREATED           = timeadd("1970-01-01T00:00:00Z", "${SOURCE_DATE_EPOCH}s")
    SOURCE_URL        = SOURCE_URL
  }
  secret = CA_BUNDLE != "" ? ["id=ca_bundle,src=${CA_BUNDLE}"] : []
}

target "test" {
  inherits = ["_common"]
  target   = "test"
  output   = ["type=cacheonly"]
}

target "debug" {
  inherits = ["_common"]
  target   = "debug"
  tags     = ["${IMAGE}:debug"]
}

target "release" {
  inherits = ["_common"]
  target   = "release"
  tags     = ["${IMAGE}:${VERSION}", "${IMAGE}:latest"]
}

# Both platforms. Python is not cross-compiled: the arm64 half runs its build steps under QEMU
# emulation (or on an arm64 BuildKit node: `docker buildx create --append`), as the wheels must be
# the target's. A multi-platform image cannot be loaded into the local image store: push it
# (`--push`) or export it (`--set *.output=type=oci,dest=img.tar`).
target "release-multi" {
  inherits  = ["release"]
  platforms = ["linux/amd64", "linux/arm64"]
}
