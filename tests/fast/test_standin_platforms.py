"""arm64 stand-ins as recipes: the same layers on another architecture's packages, native ones
unchanged, toolchain images refused (they run on the build platform). No engine needed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.archive import image_config
from tests.engine.indexes import CREATED
from tests.engine.layers import BuiltLayer
from tests.engine.recipes import ImageSpec, Unavailable, resolve
from tests.engine.registry import platform, platform_of


def test_native_recipes_do_not_name_an_architecture_so_their_hashes_stayed() -> None:
    spec = resolve("gcr.io/distroless/static-debian13:nonroot")
    assert isinstance(spec, ImageSpec) and spec.arch == "amd64"
    for layer in spec.layers:
        assert "arch" not in layer.recipe(), layer.name


def test_an_arm64_stand_in_is_the_same_recipe_on_arm64_packages() -> None:
    native = resolve("alpine:3.22")
    foreign = resolve("alpine:3.22", "arm64")
    assert isinstance(native, ImageSpec) and isinstance(foreign, ImageSpec)
    assert foreign.arch == "arm64" and foreign.tags == native.tags
    assert foreign.name == "alpine-3.22-arm64"
    assert [layer.name for layer in foreign.layers] == ["alpine-3.22-arm64"]
    assert foreign.layers[0].recipe()["arch"] == "arm64"
    assert foreign.recipe_hash() != native.recipe_hash()
    assert foreign.layers[0].deb_packages() == native.layers[0].deb_packages()


def test_toolchain_images_have_no_arm64_stand_in_and_say_why() -> None:
    found = resolve("golang:1.26-trixie", "arm64")
    assert isinstance(found, Unavailable)
    assert "$BUILDPLATFORM" in found.reason or "cannot provision" in found.reason


def test_an_arm64_config_says_its_platform_and_depends_on_the_recipe_alone() -> None:
    spec = resolve("gcr.io/distroless/static-debian13:nonroot", "arm64")
    assert isinstance(spec, ImageSpec)
    layer = BuiltLayer("distroless-static-arm64", Path("/dev/null"), "sha256:" + "0" * 64, 0, {})
    first = image_config(spec, [layer], created=CREATED)
    assert first == image_config(spec, [layer], created=CREATED)
    document = json.loads(first)
    assert (document["architecture"], document["variant"], document["os"]) == (
        "arm64",
        "v8",
        "linux",
    )
    assert document["config"]["User"] == "65532"
    assert platform("arm64") == "linux/arm64/v8" and platform("amd64") == "linux/amd64"


def test_index_entries_are_named_by_their_platform() -> None:
    arm = {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}
    assert platform_of(arm) == "linux/arm64/v8"
    assert platform_of({"platform": {"os": "unknown", "architecture": "unknown"}}) == (
        "unknown/unknown"
    )
    assert platform_of({"digest": "sha256:x"}) == ""
