"""The few git operations update needs, always with ``cwd=`` the project and never a prompt."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stagekit.errors import NotAGitTreeError, UpdateError

_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


@dataclass(frozen=True)
class Repo:
    """The git work tree a project lives in; ``prefix`` is the project's folder inside it."""

    project: Path
    git_dir: Path
    prefix: str

    def run(
        self, *args: str, input_bytes: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        return git(self.project, *args, input_bytes=input_bytes, check=check)

    def dirty(self, paths: Sequence[str]) -> list[str]:
        """Which of ``paths`` differ from HEAD (staged, unstaged, untracked or unmerged)."""
        if not paths:
            return []
        out = self.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths
        ).stdout.decode()
        dirty = []
        entries = iter(out.split("\0"))
        for entry in entries:
            if not entry:
                continue
            if entry[0] in "RC":
                next(entries, None)  # a rename's second path
            dirty.append(self.relative(entry[3:]))
        return sorted(dirty)

    def unmerged(self) -> list[str]:
        out = self.run("diff", "--name-only", "--diff-filter=U", "--relative", "-z").stdout
        return sorted(p for p in out.decode().split("\0") if p)

    def relative(self, top_path: str) -> str:
        return top_path.removeprefix(self.prefix)

    def stage(self, paths: Sequence[str]) -> None:
        """``git add`` what exists, drop from the index what is gone (no pathspec errors)."""
        present = [p for p in paths if (self.project / p).exists()]
        gone = [p for p in paths if not (self.project / p).exists()]
        if present:
            self.run("add", "-A", "--", *present)
        if gone:
            self.run("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *gone)

    def hash_object(self, data: bytes) -> str:
        return self.run("hash-object", "-w", "--stdin", input_bytes=data).stdout.decode().strip()

    def cat(self, blob: str) -> bytes:
        return self.run("cat-file", "blob", blob).stdout

    def record_conflict(
        self, path: str, base: bytes | None, ours: bytes | None, theirs: bytes | None
    ) -> None:
        """Make ``path`` an unmerged index entry (stages 1, 2, 3), as a failed git merge does."""
        full = self.prefix + path
        lines = [f"0 {'0' * 40}\t{full}"]
        for stage, data in ((1, base), (2, ours), (3, theirs)):
            if data is not None:
                lines.append(f"100644 {self.hash_object(data)} {stage}\t{full}")
        self.run("update-index", "--index-info", input_bytes=("\n".join(lines) + "\n").encode())


def git(
    cwd: Path, *args: str, input_bytes: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("git")
    if exe is None:
        raise UpdateError("git is not installed: stagekit update needs it")
    process = subprocess.run(
        [exe, *args],
        cwd=cwd,
        input=input_bytes,
        capture_output=True,
        env={**os.environ, **_ENV},
        check=False,
    )
    if check and process.returncode != 0:
        detail = process.stderr.decode(errors="replace").strip().splitlines()
        raise UpdateError(f"git {args[0]} failed: {detail[-1] if detail else process.returncode}")
    return process


def open_repo(project: Path) -> Repo:
    """The work tree around ``project``; refuse a folder that is not in one."""
    found = git(project, "rev-parse", "--git-dir", "--show-prefix", check=False)
    if found.returncode != 0:
        raise NotAGitTreeError(
            f"{project} is not in a git work tree",
            "stagekit update merges with git: run `git init && git add -A && git commit` first",
        )
    git_dir, prefix = [*found.stdout.decode().splitlines(), ""][:2]
    return Repo(project, (project / git_dir).resolve(), prefix)


def merge_text(
    ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str]
) -> tuple[bytes, bool]:
    """``git merge-file``: the merged bytes, and whether conflicts (standard markers) remain."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="stagekit-merge-") as tmp:
        files = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_bytes(data)
            files.append(str(path))
        process = git(
            Path(tmp),
            "merge-file",
            "-p",
            "-L",
            labels[0],
            "-L",
            labels[1],
            "-L",
            labels[2],
            *files,
            check=False,
        )
    if process.returncode < 0 or process.returncode > 127:
        raise UpdateError(f"git merge-file failed: {process.stderr.decode(errors='replace')}")
    return process.stdout, process.returncode != 0
