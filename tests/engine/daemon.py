"""The suite's own dockerd: own data root, socket, bridge and NAT chain; never a user's daemon.

``ensure_daemon()`` returns a ``unix://`` DOCKER_HOST that answers, starting dockerd detached (it
outlives the Python process, so a second test run reuses it) after installing Debian's engine where
it is missing. ``stop_daemon()`` stops it; ``clean()`` removes everything it ever created.

dockerd runs with ``--iptables=false``: with iptables on, it deletes and recreates the shared
``DOCKER*`` chains at startup, which would wipe the port rules of a user's daemon on the same host.
Outbound traffic for build steps goes through one MASQUERADE rule in a chain of our own instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests

from tests.engine.aptsource import missing_packages
from tests.engine.errors import DaemonStartError, EngineError, EngineInstallError
from tests.engine.paths import EnginePaths
from tests.engine.recipes import STANDIN_LABEL, names_a_standin
from tests.engine.util import locked, run, start_detached, tail

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "scripts" / "install-engine.sh"
# Variables that would make the docker CLI talk to another endpoint than DOCKER_HOST says.
_ENDPOINT_VARS = ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")


def engine_env(docker_host: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment in which the docker CLI (and buildx) talk to ``docker_host`` only.

    DOCKER_HOST wins over the CLI's current context, but DOCKER_CONTEXT next to it is an error,
    and TLS variables meant for another endpoint would break the unix socket.
    """
    env = dict(os.environ if base is None else base)
    for name in _ENDPOINT_VARS:
        env.pop(name, None)
    env["DOCKER_HOST"] = docker_host
    return env


def client(docker_host: str, timeout: int = 60) -> docker.DockerClient:
    """A docker SDK client bound to ``docker_host`` (never ``from_env``: that reads DOCKER_HOST)."""
    return docker.DockerClient(base_url=docker_host, timeout=timeout)


def ping(docker_host: str, timeout: int = 3) -> bool:
    """Whether a daemon answers ``/_ping`` on ``docker_host`` within ``timeout`` seconds."""
    try:
        sdk = client(docker_host, timeout=timeout)
    except docker.errors.DockerException:
        return False
    try:
        return bool(sdk.ping())
    except (docker.errors.DockerException, requests.RequestException, OSError):
        return False
    finally:
        sdk.close()


def ensure_daemon(
    timeout: float = 60,
    paths: EnginePaths | None = None,
    registry_mirrors: Sequence[str] = (),
) -> str:
    """Return the DOCKER_HOST of the suite's dockerd, starting it (bounded wait) if needed.

    ``registry_mirrors`` go into the daemon's config when this call starts it (Docker Hub pulls
    then ask them first). Raises ``DaemonStartError`` with the tail of dockerd's log when it does
    not answer in time.
    """
    where = paths or EnginePaths.from_env()
    if ping(where.docker_host):
        return where.docker_host
    with locked(where.daemon_lock, timeout + 30, "starting the suite's dockerd"):
        if ping(where.docker_host):
            return where.docker_host
        ensure_installed()
        _ensure_network(where)
        deadline = time.monotonic() + timeout
        offset = where.log.stat().st_size if where.log.exists() else 0
        if _daemon_pid(where) is None:
            _start(where, registry_mirrors)
        _wait(where, deadline, offset, timeout)
    return where.docker_host


def ensure_installed() -> None:
    """Install the host packages the suite needs (tests/engine/aptsource.py) where missing."""
    missing = missing_packages()
    if not missing:
        return
    try:
        done = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineInstallError(f"{INSTALL_SCRIPT} took over 15 minutes") from exc
    if done.returncode != 0:
        raise EngineInstallError(
            f"installing {', '.join(missing)} failed (exit {done.returncode}):\n"
            + tail(done.stdout + done.stderr, 30),
            f"run {INSTALL_SCRIPT} as root",
        )


def _start(where: EnginePaths, registry_mirrors: Sequence[str] = ()) -> None:
    for folder in (where.state, where.data_root, where.run, where.exec_root):
        folder.mkdir(parents=True, exist_ok=True)
    # A config file of our own: /etc/docker/daemon.json belongs to the user's daemon and could
    # set hosts or a data root that conflict with our flags.
    config = {"registry-mirrors": list(registry_mirrors)} if registry_mirrors else {}
    where.config_file.write_text(json.dumps(config) + "\n")
    command = [
        shutil.which("dockerd") or "dockerd",
        "--config-file",
        str(where.config_file),
        "--data-root",
        str(where.data_root),
        "--exec-root",
        str(where.exec_root),
        "--pidfile",
        str(where.pidfile),
        "--host",
        where.docker_host,
        "--bridge",
        where.bridge,
        "--iptables=false",
        "--ip6tables=false",
        "--default-address-pool",
        f"base={where.address_pool},size=24",
        "--containerd-namespace",
        where.containerd_namespace,
        "--containerd-plugins-namespace",
        f"{where.containerd_namespace}-plugins",
    ]
    start_detached(command, where.log)


def _wait(where: EnginePaths, deadline: float, offset: int, timeout: float) -> None:
    grace = time.monotonic() + 2
    while time.monotonic() < deadline:
        if ping(where.docker_host, timeout=2):
            return
        # setsid --fork leaves us no child to wait on: look for a dockerd with our pidfile.
        if time.monotonic() > grace and not _pids_of("dockerd", str(where.pidfile)):
            break  # it exited (its reason is in the log): no point waiting longer
        time.sleep(0.3)
    raise DaemonStartError(
        f"the suite's dockerd did not answer on {where.docker_host} within {timeout:.0f} s; "
        f"last lines of {where.log}:\n" + tail(_log_since(where.log, offset), 25),
        "python -m tests.engine down (or clean) and try again",
    )


def _log_since(log: Path, offset: int) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def _daemon_pid(where: EnginePaths) -> int | None:
    """The pid in our pidfile, if that process is alive and is our dockerd."""
    try:
        pid = int(where.pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _is_ours(pid, "dockerd", str(where.pidfile)) else None


def _is_ours(pid: int, program: str, marker: str) -> bool:
    # A pid from a stale pidfile may belong to anything by now: check what it runs.
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and Path(argv[0].decode()).name == program and marker.encode() in argv


def _ensure_network(where: EnginePaths) -> None:
    bridge, subnet = where.bridge, where.engine_subnet
    if run(["ip", "link", "show", bridge], timeout=10, check=False).returncode != 0:
        run(["ip", "link", "add", bridge, "type", "bridge"], timeout=10)
    addresses = run(["ip", "-o", "-4", "addr", "show", "dev", bridge], timeout=10).stdout
    if where.bridge_address not in addresses:
        run(["ip", "addr", "add", where.bridge_address, "dev", bridge], timeout=10)
    run(["ip", "link", "set", bridge, "up"], timeout=10)
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    if forward.read_text().strip() != "1":
        forward.write_text("1\n")
    masquerade = ["-s", subnet, "!", "-d", subnet, "-j", "MASQUERADE"]
    _install_chain(where.nat_chain, "nat", "POSTROUTING", [masquerade])
    # A user's dockerd may have set FORWARD's policy to DROP; let our subnets through regardless.
    established = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]
    _install_chain(
        where.nat_chain,
        "filter",
        "FORWARD",
        [["-s", subnet, "-j", "ACCEPT"], ["-d", subnet, *established]],
    )


def _install_chain(chain: str, table: str, hook: str, rules: list[list[str]]) -> None:
    ipt = ["iptables", "-w", "5", "-t", table]
    run([*ipt, "-N", chain], timeout=15, check=False)
    run([*ipt, "-F", chain], timeout=15)
    for rule in rules:
        run([*ipt, "-A", chain, *rule], timeout=15)
    if run([*ipt, "-C", hook, "-j", chain], timeout=15, check=False).returncode != 0:
        run([*ipt, "-I", hook, "1", "-j", chain], timeout=15)


def _remove_network(where: EnginePaths) -> list[str]:
    removed: list[str] = []
    chain = where.nat_chain
    for table, hook in (("nat", "POSTROUTING"), ("filter", "FORWARD")):
        if not shutil.which("iptables"):
            break
        ipt = ["iptables", "-w", "5", "-t", table]
        while run([*ipt, "-D", hook, "-j", chain], timeout=15, check=False).returncode == 0:
            pass
        if run([*ipt, "-F", chain], timeout=15, check=False).returncode == 0:
            run([*ipt, "-X", chain], timeout=15, check=False)
            removed.append(f"iptables chain {table}/{chain}")
    if run(["ip", "link", "del", where.bridge], timeout=10, check=False).returncode == 0:
        removed.append(f"bridge {where.bridge}")
    return removed


def stop_daemon(timeout: float = 30, paths: EnginePaths | None = None) -> bool:
    """Stop the suite's dockerd (SIGTERM, then SIGKILL after ``timeout``); False if none ran."""
    where = paths or EnginePaths.from_env()
    pid = _daemon_pid(where)
    stopped = False
    if pid is not None:
        _terminate(pid, timeout)
        stopped = True
    # After a SIGKILL the containerd that dockerd manages is orphaned; it is ours by its config.
    marker = str(where.exec_root / "containerd" / "containerd.toml")
    for other in _pids_of("containerd", marker):
        _terminate(other, 10)
    return stopped


def _terminate(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _pids_of(program: str, marker: str) -> list[int]:
    """Processes running ``program`` with ``marker`` among their arguments."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_ours(int(entry.name), program, marker):
            found.append(int(entry.name))
    return found


def clean(paths: EnginePaths | None = None) -> list[str]:
    """Stop the daemon and remove its data root, caches, sockets, bridge and iptables chains.

    Returns what was removed, for the CLI to print.
    """
    where = paths or EnginePaths.from_env()
    removed: list[str] = []
    if stop_daemon(paths=where):
        removed.append("dockerd")
    for root in (where.run, where.state):
        _unmount_under(root)
        if root.exists():
            shutil.rmtree(root)
            removed.append(str(root))
    removed += _remove_network(where)
    return removed


def _unmount_under(root: Path) -> None:
    # dockerd leaves a private bind mount of its data root (and overlay mounts if it was killed);
    # rmtree on a mounted tree would fail or, worse, reach into the mounted filesystem.
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(root) or point.startswith(str(root) + "/"):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        run(["umount", "-l", point], timeout=30, check=False)


@dataclass(frozen=True)
class DaemonStatus:
    """What ``python -m tests.engine status`` reports."""

    docker_host: str
    running: bool
    pid: int | None
    version: str | None = None
    data_root: str | None = None
    images: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(self.__dict__, indent=2)


def status(paths: EnginePaths | None = None) -> DaemonStatus:
    """Whether the suite's dockerd runs, its version, and the images it holds."""
    where = paths or EnginePaths.from_env()
    pid = _daemon_pid(where)
    if not ping(where.docker_host):
        return DaemonStatus(where.docker_host, running=False, pid=pid)
    sdk = client(where.docker_host)
    try:
        info = sdk.version()
        images = []
        for image in sdk.images.list():
            labels = image.labels or {}
            # Images built FROM a stand-in inherit its labels: only its own tags tell them apart.
            standin = labels.get(STANDIN_LABEL) == "true" and any(
                names_a_standin(tag) for tag in image.tags
            )
            images.append(
                {
                    "tags": image.tags,
                    "id": image.short_id,
                    "size": image.attrs.get("Size", 0),
                    "standin": standin,
                }
            )
    except docker.errors.DockerException as exc:
        raise EngineError(f"the suite's dockerd answered ping but not a query: {exc}") from exc
    finally:
        sdk.close()
    return DaemonStatus(
        where.docker_host,
        running=True,
        pid=pid,
        version=str(info.get("Version")),
        data_root=str(where.data_root),
        images=images,
    )
