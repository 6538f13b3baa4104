"""Small helpers shared by the engine modules: a bounded file lock and bounded commands."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.engine.errors import EngineError


@contextlib.contextmanager
def locked(path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``; give up after ``timeout`` seconds.

    Two pytest processes (or a CLI run beside a test run) must not start two daemons or build the
    same stand-in twice; a bounded wait turns a stuck holder into an error instead of a hang.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"another process has held {path} for over {timeout:.0f} s ({what})",
                        "wait for it to finish, or stop it",
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def run(
    command: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a bound, capturing text output; raise ``EngineError`` on failure."""
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"{command[0]} did not finish within {timeout:.0f} s") from exc
    except FileNotFoundError as exc:
        raise EngineError(f"{command[0]} is not installed") from exc
    if check and done.returncode != 0:
        raise EngineError(
            f"{' '.join(command[:3])} ... failed with exit code {done.returncode}:\n"
            + tail(done.stdout + done.stderr, 25)
        )
    return done


def tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def start_detached(command: list[str], log: Path) -> None:
    """Start ``command`` in a session of its own (``setsid --fork``), output appended to ``log``.

    setsid --fork returns at once: the program is no child of ours, so it outlives pytest and
    leaves no zombie behind.
    """
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
        out.flush()
        subprocess.run(
            ["setsid", "--fork", *command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            timeout=30,
            check=True,
            close_fds=True,
        )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content (hex), read in chunks: layer tars run to a gigabyte."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
