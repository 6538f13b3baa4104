"""The image filesystem as smoke and the benchmarks read it: scan, links, PATH lookup, payload."""

from __future__ import annotations

import io
import tarfile

import pytest
from stagekit.engine.imagefs import (
    ChunkStream,
    FsEntry,
    entrypoint_program,
    measure_payload,
    resolve_path,
    scan_tar,
    total_file_bytes,
    which,
)

Member = tuple[str, str, int | str | None]


def export_tar(members: list[Member]) -> io.BytesIO:
    """A tar like ``docker export`` writes: (name, kind, size for files / target for links)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(value, int)
                info.size = value
                archive.addfile(info, io.BytesIO(b"\0" * value))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}.get(
                kind, tarfile.LNKTYPE
            )
            info.linkname = str(value or "")
            archive.addfile(info)
    buffer.seek(0)
    return buffer


@pytest.fixture
def fs() -> dict[str, FsEntry]:
    return scan_tar(
        export_tar(
            [
                (".dockerenv", "file", 0),
                ("bin", "symlink", "usr/bin"),
                ("./usr/", "dir", None),
                ("usr/bin/", "dir", None),
                ("usr/bin/python3.13", "file", 6000),
                ("usr/bin/python3", "symlink", "python3.13"),
                ("usr/local/bin/python3", "symlink", "/usr/bin/python3"),
                ("usr/local/bin/app", "file", 1000),
                ("app/.venv/bin/python", "symlink", "/usr/local/bin/python3"),
                ("app/.venv/lib/site.py", "file", 300),
                ("app/.venv/lib/copy.py", "hardlink", "app/.venv/lib/site.py"),
                ("opt/tool", "hardlink", "./usr/local/bin/app"),
                ("lib", "symlink", "usr/lib"),
                ("usr/lib/libc.so", "file", 50),
                ("etc/ssl/certs/ca-certificates.crt", "file", 30),
                ("empty/", "dir", None),
            ]
        )
    )


def test_scan_normalizes_paths_and_kinds(fs: dict[str, FsEntry]) -> None:
    assert fs["/.dockerenv"] == FsEntry("file", 0)
    assert fs["/usr"].kind == "dir" and fs["/usr/bin"].kind == "dir"
    assert fs["/bin"] == FsEntry("symlink", 0, "usr/bin")
    assert fs["/app/.venv/lib/copy.py"] == FsEntry("hardlink", 0, "/app/.venv/lib/site.py")
    assert fs["/opt/tool"].link == "/usr/local/bin/app"
    assert total_file_bytes(fs) == 6000 + 1000 + 300 + 50 + 30


def test_scan_reads_a_stream_of_chunks() -> None:
    data = export_tar([("usr/local/bin/app", "file", 70_000)]).getvalue()
    chunks = iter([data[i : i + 4096] for i in range(0, len(data), 4096)])
    assert scan_tar(ChunkStream(chunks)) == {"/usr/local/bin/app": FsEntry("file", 70_000)}


def test_resolve_follows_links_and_dot_dot(fs: dict[str, FsEntry]) -> None:
    assert resolve_path(fs, "/bin/python3") == "/usr/bin/python3.13"
    assert resolve_path(fs, "/app/.venv/bin/python") == "/usr/bin/python3.13"
    assert resolve_path(fs, "/lib/libc.so") == "/usr/lib/libc.so"
    assert resolve_path(fs, "/usr/local/bin/../bin/./app") == "/usr/local/bin/app"
    # `..` after a link climbs from where the link led, not from the link's folder.
    assert resolve_path(fs, "/bin/../lib/libc.so") == "/usr/lib/libc.so"
    assert resolve_path(fs, "/nope") == "/nope"


def test_resolve_gives_up_on_a_loop() -> None:
    loop = {"/a": FsEntry("symlink", 0, "/b"), "/b": FsEntry("symlink", 0, "/a")}
    assert resolve_path(loop, "/a") is None


def test_which_looks_up_path_like_the_runtime(fs: dict[str, FsEntry]) -> None:
    assert which(fs, "app") == "/usr/local/bin/app"
    assert which(fs, "python3", "/usr/bin") == "/usr/bin/python3"
    assert which(fs, "tool", "/opt") == "/opt/tool"  # a hard link is a file
    assert which(fs, "lib", "/") == "lib"  # a folder is not a program
    assert which(fs, "/abs/prog") == "/abs/prog"
    assert which(fs, "nothere") == "nothere"


def test_entrypoint_program_uses_the_image_path(fs: dict[str, FsEntry]) -> None:
    assert entrypoint_program(fs, {"Entrypoint": ["app", "serve"]}) == "/usr/local/bin/app"
    config = {"Entrypoint": ["python3"], "Env": ["PATH=/app/.venv/bin:/usr/bin", "X"]}
    assert entrypoint_program(fs, config) == "/usr/bin/python3"
    assert entrypoint_program(fs, {"Entrypoint": None}) == ""


def test_payload_counts_each_file_once(fs: dict[str, FsEntry]) -> None:
    assert measure_payload(fs, ["/usr/local/bin/app"]) == (1000, ())
    # The interpreter once although two links lead to it; site.py once with its hard link.
    assert measure_payload(fs, ["/app/.venv", "/app/.venv/bin/python", "/usr/bin/python3"]) == (
        6300,
        (),
    )
    # A hard link outside the payload still carries its file's bytes, counted once.
    assert measure_payload(fs, ["/opt/tool"]) == (1000, ())
    assert measure_payload(fs, ["/opt/tool", "/usr/local/bin/app"]) == (1000, ())


def test_payload_folders_and_missing_paths(fs: dict[str, FsEntry]) -> None:
    assert measure_payload(fs, ["/etc/ssl"]) == (30, ())  # a folder the tar does not list
    assert measure_payload(fs, ["/empty"]) == (0, ())  # there, but holds nothing
    assert measure_payload(fs, ["/nope", "/usr/local/bin/app"]) == (1000, ("/nope",))
    loop = {"/a": FsEntry("symlink", 0, "/b"), "/b": FsEntry("symlink", 0, "/a")}
    assert measure_payload(loop, ["/a"]) == (0, ("/a",))
