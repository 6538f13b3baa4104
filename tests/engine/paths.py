"""Where the suite's own Docker Engine keeps its state, and the host names it owns.

Everything the engine machinery creates lives under two roots (state and run) plus one bridge and
two iptables chains, so that ``python -m tests.engine clean`` can remove exactly that and nothing
of a user's own Docker installation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_ROOT = Path("/var/lib/stagekit-test-engine")
DEFAULT_RUN_ROOT = Path("/run/stagekit-test-engine")
STATE_ENV = "STAGEKIT_ENGINE_ROOT"
RUN_ENV = "STAGEKIT_ENGINE_RUN"

# A second, fully separate engine (own bridge, subnet, chains, roots) can run beside the first,
# e.g. CI next to a developer's session, or a from-scratch timing run that must not disturb it.
INSTANCE_ENV = "STAGEKIT_ENGINE_INSTANCE"
MAX_INSTANCE = 40


@dataclass(frozen=True)
class EnginePaths:
    """The two roots of the suite's engine: ``state`` (persistent) and ``run`` (sockets, pids)."""

    state: Path
    run: Path
    instance: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EnginePaths:
        """Read the roots from ``STAGEKIT_ENGINE_ROOT`` / ``STAGEKIT_ENGINE_RUN``, else defaults.

        ``STAGEKIT_ENGINE_INSTANCE=N`` (default 0) selects another, independent engine: its
        default roots, bridge, subnet, iptables chain and containerd namespace all carry N.
        """
        env = os.environ if environ is None else environ
        raw = env.get(INSTANCE_ENV) or "0"
        if not raw.isdigit() or int(raw) > MAX_INSTANCE:
            raise ValueError(f"{INSTANCE_ENV} must be 0..{MAX_INSTANCE}, not {raw!r}")
        instance = int(raw)
        suffix = f"-{instance}" if instance else ""
        state = env.get(STATE_ENV) or f"{DEFAULT_STATE_ROOT}{suffix}"
        run = env.get(RUN_ENV) or f"{DEFAULT_RUN_ROOT}{suffix}"
        return cls(Path(state), Path(run), instance)

    @property
    def bridge(self) -> str:
        return f"skbr{self.instance}"

    @property
    def bridge_address(self) -> str:
        return f"10.{213 + self.instance}.0.1/24"

    @property
    def address_pool(self) -> str:
        """Where compose's networks come from: never Docker's 172.17-31.x default pools, so
        they cannot collide with the subnets of a user's own daemon."""
        return f"10.{213 + self.instance}.128.0/17"

    @property
    def engine_subnet(self) -> str:
        """Every subnet this engine uses; our own NAT rule masquerades exactly this range."""
        return f"10.{213 + self.instance}.0.0/16"

    @property
    def nat_chain(self) -> str:
        return "STAGEKIT-ENGINE" + (f"-{self.instance}" if self.instance else "")

    @property
    def containerd_namespace(self) -> str:
        return "stagekit-test-engine" + (f"-{self.instance}" if self.instance else "")

    @property
    def data_root(self) -> Path:
        return self.state / "data"

    @property
    def log(self) -> Path:
        return self.state / "dockerd.log"

    @property
    def config_file(self) -> Path:
        return self.state / "daemon.json"

    @property
    def cache(self) -> Path:
        return self.state / "cache"

    @property
    def layers(self) -> Path:
        return self.cache / "layers"

    @property
    def debs(self) -> Path:
        return self.cache / "debs"

    @property
    def work(self) -> Path:
        return self.cache / "work"

    @property
    def daemon_lock(self) -> Path:
        return self.state / "daemon.lock"

    @property
    def images_lock(self) -> Path:
        return self.state / "images.lock"

    @property
    def exec_root(self) -> Path:
        return self.run / "exec"

    @property
    def pidfile(self) -> Path:
        return self.run / "dockerd.pid"

    @property
    def socket(self) -> Path:
        return self.run / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    # --- the loopback registry (tests/engine/registry.py) ------------------------------------

    @property
    def registry_port(self) -> int:
        """127.0.0.1 only; one port per engine instance (5500 is no well-known service's)."""
        return 5500 + self.instance

    @property
    def registry_address(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    @property
    def registry_root(self) -> Path:
        return self.state / "registry"

    @property
    def registry_config(self) -> Path:
        return self.state / "registry.yml"

    @property
    def registry_log(self) -> Path:
        return self.state / "registry.log"
