"""The python:3.13-alpine3.22 stand-in against the official image (issue #21).

What the official image is, is taken from docker-library's published python:3.13-alpine3.22
Dockerfile and its documentation, not from a pull (no registry is reachable here): its
environment and command, the configure line (shared libpython, loadable SQLite extensions,
ensurepip), the build dependencies that decide which standard-library extension modules exist
(bzip2-dev, gdbm-dev, libffi-dev, linux-headers, ncurses-dev, openssl-dev, readline-dev,
sqlite-dev, tcl-dev and tk-dev, util-linux-dev, xz-dev, zlib-dev, bluez-dev) and its runtime
packages (ca-certificates, tzdata; ncurses-terminfo-base comes with ncurses). The stand-in's
Python is asked the same questions; only the exceptions listed here, each with its reason, may
differ (docs/test-engine.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import docker.errors
import pytest

pytestmark = pytest.mark.docker

REF = "python:3.13-alpine3.22"
OFFICIAL_ENV = {
    "PATH": "/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "GPG_KEY": "7169605F62C751356D054A26A821E680E5FA6305",
}
OFFICIAL_CMD = ["python3"]
# `make install` plus the Dockerfile's symlink loop (idle3 pip3 pydoc3 python3 python3-config).
OFFICIAL_BIN = {
    "idle",
    "idle3",
    "idle3.13",
    "pip",
    "pip3",
    "pip3.13",
    "pydoc",
    "pydoc3",
    "pydoc3.13",
    "python",
    "python-config",
    "python3",
    "python3-config",
    "python3.13",
    "python3.13-config",
}
OFFICIAL_SYSCONFIG = {
    "platform": "linux-x86_64",
    "SOABI": "cpython-313-x86_64-linux-musl",
    "MULTIARCH": "x86_64-linux-musl",
    "HOST_GNU_TYPE": "x86_64-pc-linux-musl",
    "Py_ENABLE_SHARED": 1,
    "LDLIBRARY": "libpython3.13.so",
}
# Alpine 3.22 has musl 1.2.5, so pip and uv pick musllinux_1_2 wheels first.
OFFICIAL_FIRST_TAG = "cp313-cp313-musllinux_1_2_x86_64"
# Alpine's OpenSSL (3.5 in 3.22) looks for its CA bundle at /etc/ssl/cert.pem.
OFFICIAL_SSL = {"openssl_cafile": "/etc/ssl/cert.pem", "openssl_capath": "/etc/ssl/certs"}
# sys.stdlib_module_names that exist only on Windows, macOS or iOS: absent from both images.
NOT_ON_LINUX = {
    "_ios_support",
    "_overlapped",
    "_scproxy",
    "_winapi",
    "_wmi",
    "msvcrt",
    "nt",
    "winreg",
    "winsound",
}
# Where the stand-in knowingly differs, and why.
EXCEPTIONS = {
    "_tkinter": "Tk needs Tcl/Tk and the X11 libraries built for musl; the official image "
    "installs Alpine's tk and links _tkinter against it, the stand-in does not build them",
    "tkinter": "imports _tkinter (see there)",
    "turtle": "imports tkinter (see there)",
}

PROBE = r"""
import importlib, json, os, ssl, sys, sysconfig
from pip._vendor.packaging import tags
failed = {}
for name in sorted(sys.stdlib_module_names):
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
import curses, socket, sqlite3, zoneinfo
paths = ssl.get_default_verify_paths()
curses.setupterm("xterm-256color", 1)
print(json.dumps({
    "version": sys.version.split()[0],
    "failed": failed,
    "first_tag": str(next(iter(tags.sys_tags()))),
    "sysconfig": {"platform": sysconfig.get_platform(), **{
        key: sysconfig.get_config_var(key)
        for key in ("SOABI", "MULTIARCH", "HOST_GNU_TYPE", "Py_ENABLE_SHARED", "LDLIBRARY")
    }},
    "config_args": sysconfig.get_config_var("CONFIG_ARGS"),
    "ssl": {"openssl_cafile": paths.openssl_cafile, "openssl_capath": paths.openssl_capath},
    "openssl": ssl.OPENSSL_VERSION,
    "sqlite_extensions": hasattr(sqlite3.Connection, "enable_load_extension"),
    "bluetooth": hasattr(socket, "AF_BLUETOOTH"),
    "zone": str(zoneinfo.ZoneInfo("Europe/Berlin")),
    "colors": curses.tigetnum("colors"),
    "bin": sorted(os.listdir("/usr/local/bin")),
    "glibc": [p for p in ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
                          "/usr/lib/x86_64-linux-gnu/libc.so.6") if os.path.exists(p)],
}))
"""


@pytest.fixture(scope="module")
def probe(buildable: Callable[[str, str], str | None], docker_client: Any) -> dict[str, Any]:
    if reason := buildable("python", "alpine"):
        pytest.skip(reason)
    container = docker_client.containers.create(
        REF, command=["python3", "-c", PROBE], network_mode="none"
    )
    try:
        container.start()
        status = container.wait(timeout=120)
        output = container.logs().decode()
    finally:
        with suppress(docker.errors.NotFound):
            container.remove(force=True)
    assert status["StatusCode"] == 0, output
    found: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return found


def test_the_environment_and_command_are_the_official_ones(
    probe: dict[str, Any], docker_client: Any
) -> None:
    config = docker_client.images.get(REF).attrs["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert {key: env.get(key) for key in OFFICIAL_ENV} == OFFICIAL_ENV
    assert env["PYTHON_VERSION"].startswith("3.13.")
    assert len(env["PYTHON_SHA256"]) == 64
    assert config["Cmd"] == OFFICIAL_CMD
    # Labelled as what it is, with its recipe's hash.
    labels = config["Labels"]
    assert labels["org.stagekit.standin"] == "true" and len(labels["org.stagekit.recipe"]) == 64


def test_the_interpreter_is_a_musl_build_of_cpython_3_13(probe: dict[str, Any]) -> None:
    assert probe["version"].startswith("3.13.")
    assert probe["sysconfig"] == OFFICIAL_SYSCONFIG
    # packaging finds musl through the interpreter's ELF interpreter (PT_INTERP) and asks that
    # loader its version: this tag proves both.
    assert probe["first_tag"] == OFFICIAL_FIRST_TAG
    assert probe["glibc"] == [], "a glibc loader or libc is in the image"
    for flag in ("--enable-shared", "--enable-loadable-sqlite-extensions", "--with-ensurepip"):
        assert flag in probe["config_args"]
    # No PGO or LTO (their build time is outside the stand-in's budget): a known difference.
    assert "--enable-optimizations" not in probe["config_args"]


def test_the_standard_library_imports_as_in_the_official_image(probe: dict[str, Any]) -> None:
    failed = set(probe["failed"])
    unexpected = failed - NOT_ON_LINUX - set(EXCEPTIONS)
    assert not unexpected, {name: probe["failed"][name] for name in unexpected}
    # An exception that no longer applies is taken off the list, not kept as a blanket.
    assert set(EXCEPTIONS) <= failed, set(EXCEPTIONS) - failed


def test_the_libraries_behind_the_modules_are_there(probe: dict[str, Any]) -> None:
    assert probe["ssl"] == OFFICIAL_SSL
    assert probe["openssl"].startswith("OpenSSL 3.5.")
    assert probe["sqlite_extensions"], "built without --enable-loadable-sqlite-extensions"
    assert probe["bluetooth"], "socket.AF_BLUETOOTH is missing (bluez headers)"
    assert probe["zone"] == "Europe/Berlin"  # tzdata, as the official image installs it
    assert probe["colors"] == 256  # terminfo in /etc/terminfo, as ncurses-terminfo-base has it
    assert set(probe["bin"]) == OFFICIAL_BIN
