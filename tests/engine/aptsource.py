"""Which Debian packages the suite needs on the host, and where apt should take each one from.

The rule (docs/test-engine.md, "Host packages"): take what apt would install (the candidate) when it
is new enough; otherwise the Debian 13 (trixie) version when that one is; otherwise refuse. The
decision reads ``apt-cache policy`` and never ``/etc/os-release``: the first run on Debian 12 may
change what os-release says, and what matters is which versions apt can actually install.

Runs with the system ``python3`` and the standard library only (``scripts/install-engine.sh`` calls
it before any virtualenv exists), so it imports nothing from the rest of the suite:

    python3 tests/engine/aptsource.py missing            # packages whose tool is absent here
    apt-cache policy P... | python3 tests/engine/aptsource.py specs P...   # one apt spec a line
    python3 tests/engine/aptsource.py services P...      # systemd units those packages bring
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cmp_to_key

#: The Debian release that has everything new enough; on Debian 12 its source is added, pinned low.
NEWER_RELEASE = "trixie"


@dataclass(frozen=True)
class HostPackage:
    """A Debian package the suite needs, how to tell it is there, and its oldest usable version."""

    name: str
    command: str  # on PATH when the package (or an equivalent install) is present
    minimum: str | None = None  # a Debian version; None: any version works
    check: tuple[str, ...] = ()  # run as well, must exit 0 (CLI plugins are not on PATH)
    services: tuple[str, ...] = ()  # systemd units the package enables; the suite runs its own


# Adding a package is one line here. Minimums and the reason for each: docs/test-engine.md.
PACKAGES: tuple[HostPackage, ...] = (
    HostPackage(
        "docker.io",
        "dockerd",
        "26",
        services=("docker.socket", "docker.service", "containerd.service"),
    ),
    HostPackage("docker-cli", "docker"),
    HostPackage("docker-buildx", "docker", "0.13", check=("docker", "buildx", "version")),
    HostPackage("docker-compose", "docker", "2", check=("docker", "compose", "version")),
    HostPackage("mmdebstrap", "mmdebstrap", "1.4.0"),  # --skip=output/dev (tests/engine/layers.py)
    HostPackage("iptables", "iptables"),
    HostPackage("iproute2", "ip"),  # the engine's bridge
    HostPackage("util-linux", "setsid"),  # a detached dockerd
    # The CNCF distribution registry, run on loopback with a config of the suite's own
    # (tests/engine/registry.py); the package's service (all interfaces, htpasswd) stays off.
    HostPackage("docker-registry", "docker-registry", services=("docker-registry.service",)),
    # arm64 containers under emulation: scripts/install-engine.sh registers QEMU's handler with
    # binfmt_misc from the package's own spec, fix-binary flag (F), so it works in containers.
    HostPackage("qemu-user-static", "qemu-aarch64-static"),
    # mmdebstrap makes a foreign (arm64) Debian root only when arch-test says it can run it.
    HostPackage("arch-test", "arch-test"),
)


class AptSourceError(Exception):
    """No version apt can install here is new enough."""


@dataclass(frozen=True)
class Available:
    """One row of a policy's version table."""

    version: str
    suites: tuple[str, ...]  # e.g. ("bookworm", "bookworm-security"); the dpkg status is left out


@dataclass(frozen=True)
class Policy:
    """What ``apt-cache policy`` says about one package."""

    name: str
    installed: str | None
    candidate: str | None
    table: tuple[Available, ...]


_HEADER = re.compile(r"^(\S+):$")
_FIELD = re.compile(r"^  (Installed|Candidate): (.+)$")
_VERSION = re.compile(r"^ (?:\*\*\*| {3}) (\S+) -?\d+$")
_SOURCE = re.compile(r"^ {8}-?\d+ \S+ (\S+?)/\S+ \S+ Packages$")


def parse_policy(text: str) -> dict[str, Policy]:
    """Parse ``apt-cache policy PKG...`` output into one Policy per package it names."""
    policies: dict[str, Policy] = {}
    name: str | None = None
    fields: dict[str, str | None] = {}
    table: list[tuple[str, list[str]]] = []

    def flush() -> None:
        if name is not None:
            rows = tuple(Available(v, tuple(s)) for v, s in table)
            policies[name] = Policy(name, fields.get("Installed"), fields.get("Candidate"), rows)

    for line in text.splitlines():
        if header := _HEADER.match(line):
            flush()
            name, fields, table = header.group(1), {}, []
        elif field := _FIELD.match(line):
            value = field.group(2).strip()
            fields[field.group(1)] = None if value == "(none)" else value
        elif version := _VERSION.match(line):
            table.append((version.group(1), []))
        elif (source := _SOURCE.match(line)) and table:
            table[-1][1].append(source.group(1))
    flush()
    return policies


def _order(char: str) -> int:
    # dpkg's order for the non-digit parts: "~" before everything, letters before other characters.
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    while a or b:
        a_text = re.match(r"[^0-9]*", a)
        b_text = re.match(r"[^0-9]*", b)
        assert a_text is not None and b_text is not None
        x, y = a_text.group(), b_text.group()
        a, b = a[len(x) :], b[len(y) :]
        for i in range(max(len(x), len(y))):
            ox = _order(x[i]) if i < len(x) else 0
            oy = _order(y[i]) if i < len(y) else 0
            if ox != oy:
                return -1 if ox < oy else 1
        a_num = re.match(r"[0-9]*", a)
        b_num = re.match(r"[0-9]*", b)
        assert a_num is not None and b_num is not None
        m, n = a_num.group(), b_num.group()
        a, b = a[len(m) :], b[len(n) :]
        if int(m or 0) != int(n or 0):
            return -1 if int(m or 0) < int(n or 0) else 1
    return 0


def compare_versions(a: str, b: str) -> int:
    """Debian version order (as ``dpkg --compare-versions``): negative, zero or positive."""

    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def _new_enough(version: str, minimum: str | None) -> bool:
    return minimum is None or compare_versions(version, minimum) >= 0


def apt_spec(policy: Policy, minimum: str | None, release: str = NEWER_RELEASE) -> str:
    """What ``apt-get install`` gets for ``policy``'s package: ``name`` or ``name/release``."""
    if policy.candidate is not None and _new_enough(policy.candidate, minimum):
        return policy.name
    in_release = [row.version for row in policy.table if release in row.suites]
    newest = max(in_release, default=None, key=cmp_to_key(compare_versions))
    if newest is not None and _new_enough(newest, minimum):
        return f"{policy.name}/{release}"
    raise AptSourceError(
        f"{policy.name}: needs {minimum or 'any version'}, apt offers "
        f"{policy.candidate or 'nothing'} and {release} has {newest or 'nothing'}"
    )


def apt_specs(policy_text: str, names: list[str]) -> list[str]:
    """The apt spec of each of ``names`` (of PACKAGES), from ``apt-cache policy`` output."""
    policies = parse_policy(policy_text)
    minimums = {p.name: p.minimum for p in PACKAGES}
    specs = []
    for name in names:
        if name not in policies:
            raise AptSourceError(f"{name}: apt knows no such package here (apt-get update?)")
        specs.append(apt_spec(policies[name], minimums.get(name)))
    return specs


def missing_packages() -> list[str]:
    """The packages of PACKAGES whose tool is absent on this machine (fast: no apt involved)."""
    missing = []
    for package in PACKAGES:
        present = shutil.which(package.command) is not None
        if present and package.check:
            ran = subprocess.run(
                package.check,
                capture_output=True,
                timeout=30,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            present = ran.returncode == 0
        if not present:
            missing.append(package.name)
    return missing


def main(argv: list[str]) -> int:
    if argv[:1] == ["missing"]:
        print("\n".join(missing_packages()))
        return 0
    if argv[:1] == ["specs"]:
        try:
            print("\n".join(apt_specs(sys.stdin.read(), argv[1:])))
        except AptSourceError as error:
            print(f"install-engine: {error}", file=sys.stderr)
            return 1
        return 0
    if argv[:1] == ["services"]:
        units = [u for p in PACKAGES if p.name in argv[1:] for u in p.services]
        print("\n".join(units))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
