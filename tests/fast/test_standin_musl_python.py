"""The python:3.13-alpine stand-in as a recipe (issue #21): which references it answers, what its
recipe covers, how its sources are fetched and checked. No engine needed; the image itself is
built and compared with the official one in tests/docker/test_python_alpine_standin.py."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from tests.engine.errors import StandinError
from tests.engine.muslpython import SCRIPT, MuslPython, Source, fetch_source
from tests.engine.recipes import MUSL_PYTHON, ImageSpec, Unavailable, resolve
from tests.helpers import shellcheck


def test_python_3_13_on_alpine_3_22_is_the_alpine_stand_in_plus_musl_cpython() -> None:
    spec = resolve("python:3.13-alpine3.22")
    assert isinstance(spec, ImageSpec)
    assert [layer.name for layer in spec.layers] == ["alpine-3.22", "musl-python-3.13"]
    env = dict(spec.config.env)
    assert env["PATH"].startswith("/usr/local/bin:")
    assert spec.config.cmd == ("python3",)
    assert dict(spec.config.env_facts) == {
        "PYTHON_VERSION": "python_version",
        "PYTHON_SHA256": "python_sha256",
    }
    # The full version names the same image; so does Docker Hub's long form.
    for ref in ("python:3.13.5-alpine3.22", "docker.io/library/python:3.13-alpine3.22"):
        found = resolve(ref)
        assert isinstance(found, ImageSpec) and found.layers == spec.layers


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("python:3.12-alpine3.22", "Debian trixie's source, which is 3.13.5"),
        ("python:3.13.9-alpine3.22", "Debian trixie's source, which is 3.13.5"),
        ("python:3.13-alpine3.21", "the alpine stand-in is 3.22 only"),
        ("python:3.13-alpine", "the alpine stand-in is 3.22 only"),
        ("python:alpine", "Debian trixie's source"),
    ],
)
def test_other_python_or_alpine_releases_say_why_they_cannot_be_made(ref: str, says: str) -> None:
    found = resolve(ref)
    assert isinstance(found, Unavailable)
    assert says in found.reason and "STAGEKIT_TRY_PULL=1" in found.reason


def test_there_is_no_arm64_musl_python_and_the_reason_says_why() -> None:
    found = resolve("python:3.13-alpine3.22", "arm64")
    assert isinstance(found, Unavailable)
    assert "compiled here for amd64" in found.reason and "musl-python-3.13" in found.reason


def test_the_build_script_and_every_pinned_tarball_are_part_of_the_recipe() -> None:
    recipe = MUSL_PYTHON.recipe()
    assert recipe["script_sha256"] == hashlib.sha256(SCRIPT.read_bytes()).hexdigest()
    edited = replace(MUSL_PYTHON, script_sha256="0" * 64)
    assert edited.recipe_hash() != MUSL_PYTHON.recipe_hash()
    bumped = replace(MUSL_PYTHON, libraries=MUSL_PYTHON.libraries[1:])
    assert bumped.recipe_hash() != MUSL_PYTHON.recipe_hash()
    names = {source.package for source in MUSL_PYTHON.libraries}
    assert {"openssl", "sqlite3", "libffi", "zlib", "bzip2", "xz-utils"} <= names


def test_sources_live_in_debians_pool_under_their_section() -> None:
    libffi = Source("libffi", "libffi_3.4.8.orig.tar.gz", "")
    assert libffi.url().endswith("/debian/pool/main/libf/libffi/libffi_3.4.8.orig.tar.gz")
    zlib = Source("zlib", "zlib_1.3.dfsg+really1.3.1.orig.tar.gz", "")
    assert zlib.url().endswith("/debian/pool/main/z/zlib/zlib_1.3.dfsg+really1.3.1.orig.tar.gz")
    assert MuslPython(name="x").python.version() == "3.13.5"
    with pytest.raises(StandinError, match="not named like an orig tarball"):
        Source("x", "x.tar.gz", "").version()


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A Debian mirror on loopback serving ``<pool>/debian/pool/main/...``."""
    root = tmp_path / "mirror"
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STAGEKIT_DEBIAN_MIRROR", f"http://127.0.0.1:{server.server_port}")
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()


def test_a_tarball_is_fetched_once_and_checked_against_its_pin(pool: Path, tmp_path: Path) -> None:
    body = b"an orig tarball\n"
    source = Source("zlib", "zlib_9.orig.tar.gz", hashlib.sha256(body).hexdigest())
    served = pool / "debian/pool/main/z/zlib/zlib_9.orig.tar.gz"
    served.parent.mkdir(parents=True)
    served.write_bytes(body)
    cache = tmp_path / "cache"
    assert fetch_source(source, cache).read_bytes() == body
    served.unlink()  # the second call must not download
    assert fetch_source(source, cache).read_bytes() == body


def test_a_tarball_that_changed_is_refused_and_not_kept(pool: Path, tmp_path: Path) -> None:
    source = Source("zlib", "zlib_9.orig.tar.gz", "0" * 64)
    served = pool / "debian/pool/main/z/zlib/zlib_9.orig.tar.gz"
    served.parent.mkdir(parents=True)
    served.write_bytes(b"not what was pinned\n")
    cache = tmp_path / "cache"
    with pytest.raises(StandinError, match="not the pinned 0000"):
        fetch_source(source, cache)
    assert list(cache.iterdir()) == []


def test_a_tarball_the_mirror_lacks_is_a_one_line_error(pool: Path, tmp_path: Path) -> None:
    with pytest.raises(StandinError, match=r"cannot download http://127\.0\.0\.1:\d+/debian/"):
        fetch_source(Source("zlib", "zlib_9.orig.tar.gz", "0" * 64), tmp_path / "cache")


def test_the_build_script_passes_shellcheck() -> None:
    done = shellcheck(SCRIPT)
    assert done.returncode == 0, done.stdout + done.stderr
