"""The install rule of scripts/install-engine.sh: each package from where apt has a new-enough one.

Tested against recorded ``apt-cache policy`` outputs (tests/data/apt-policy/README.md says how each
was made), never against /etc/os-release, which the first run on Debian 12 can change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.aptsource import (
    PACKAGES,
    AptSourceError,
    apt_spec,
    apt_specs,
    compare_versions,
    parse_policy,
)

DATA = Path(__file__).parent.parent / "data" / "apt-policy"
SCRIPT = Path(__file__).parent.parent / "engine" / "aptsource.py"
NAMES = [p.name for p in PACKAGES]


def recorded(situation: str) -> str:
    return (DATA / f"{situation}.txt").read_text()


def test_fresh_debian_12_takes_what_is_too_old_there_from_debian_13() -> None:
    specs = dict(zip(NAMES, apt_specs(recorded("debian12-fresh"), NAMES), strict=True))
    assert specs == {
        "docker.io": "docker.io/trixie",  # Debian 12 has Engine 20.10
        "docker-cli": "docker-cli",  # only Debian 13 has it: the candidate already is
        "docker-buildx": "docker-buildx",  # likewise
        "docker-compose": "docker-compose/trixie",  # Debian 12 has compose v1
        "mmdebstrap": "mmdebstrap/trixie",  # 1.3.5 has no --skip=output/dev
        "iptables": "iptables",
        "iproute2": "iproute2",
        "util-linux": "util-linux",
        "docker-registry": "docker-registry",  # any version: Debian 12's 2.8.2 serves the suite
        "qemu-user-static": "qemu-user-static",  # Debian 12's 7.2 runs arm64 binaries
        "arch-test": "arch-test",  # any version: Debian 12's 0.20 answers mmdebstrap
    }


@pytest.mark.parametrize("situation", ["debian12-after-one-run", "debian13"])
def test_where_apt_already_offers_new_enough_versions_it_takes_them(situation: str) -> None:
    assert apt_specs(recorded(situation), NAMES) == NAMES


def test_after_one_run_os_release_says_trixie_but_the_decision_still_reads_apt() -> None:
    # After one run of the old script the host reports Debian 13 while apt still prefers Debian 12
    # for anything not installed: deciding by os-release would have installed Engine 20.10 here.
    policies = parse_policy(recorded("debian12-after-one-run"))
    registry = policies["docker-registry"]
    assert registry.installed is None and registry.candidate == "2.8.2+ds1-1"
    assert apt_spec(registry, "2.8.3") == "docker-registry/trixie"
    purged = parse_policy(recorded("debian12-fresh"))["docker.io"]
    assert apt_spec(purged, "26") == "docker.io/trixie"


def test_a_package_later_work_adds_goes_through_the_same_rule() -> None:
    # qemu-user-static: Debian 12 has 7.2, Debian 13 has 10.0; any version takes the candidate.
    fresh = parse_policy(recorded("debian12-fresh"))["qemu-user-static"]
    assert apt_spec(fresh, None) == "qemu-user-static"
    assert apt_spec(fresh, "1:8") == "qemu-user-static/trixie"
    d13 = parse_policy(recorded("debian13"))["qemu-user-static"]
    assert apt_spec(d13, "1:8") == "qemu-user-static"


def test_nothing_new_enough_anywhere_is_refused_with_what_apt_offers() -> None:
    policy = parse_policy(recorded("debian12-fresh"))["docker.io"]
    offers = r"docker.io: needs 99, apt offers 20\.10.* trixie has 26"
    with pytest.raises(AptSourceError, match=offers):
        apt_spec(policy, "99")
    with pytest.raises(AptSourceError, match="no such package"):
        apt_specs(recorded("debian13"), ["no-such-package"])


def test_the_policy_is_parsed_with_installed_candidate_and_suites() -> None:
    policy = parse_policy(recorded("debian12-after-one-run"))["docker.io"]
    assert policy.installed == policy.candidate == "26.1.5+dfsg1-9+deb13u1+b1"
    assert [(row.version, row.suites) for row in policy.table] == [
        ("26.1.5+dfsg1-9+deb13u1+b1", ("trixie",)),
        ("20.10.24+dfsg1-1+deb12u1+b6", ("bookworm",)),
    ]
    later = {"docker-registry", "qemu-user-static", "arch-test"}
    assert set(parse_policy(recorded("debian13"))) == {*NAMES, *later}


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("26.1.5+dfsg1-9+deb13u1+b1", "26", 1),
        ("20.10.24+dfsg1-1+deb12u1+b6", "26", -1),
        ("1.29.2-3", "2", -1),
        ("1.3.5-7", "1.4.0", -1),
        ("1.0~rc1", "1.0", -1),
        ("1:7.2+dfsg-7", "10.0", 1),  # the epoch wins
        ("1.0a", "1.0+", -1),  # letters sort before other characters
        ("26.1.5+dfsg1-9+deb13u1", "26.1.5+dfsg1-9+deb13u1+b1", -1),
        ("2.8.2+ds1-1", "2.8.2+ds1-1", 0),
    ],
)
def test_versions_compare_as_dpkg_does(a: str, b: str, order: int) -> None:
    result = compare_versions(a, b)
    assert (result > 0) - (result < 0) == order


def test_the_script_runs_with_the_system_python_and_prints_one_spec_a_line() -> None:
    ran = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "specs", "docker.io", "iptables"],
        input=recorded("debian12-fresh"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ran.returncode, ran.stdout) == (0, "docker.io/trixie\niptables\n"), ran.stderr
    ran = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "services", "docker.io", "iptables"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.stdout.split() == ["docker.socket", "docker.service", "containerd.service"]
