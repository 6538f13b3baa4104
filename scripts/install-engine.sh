#!/usr/bin/env bash
# Installs the Debian packages the test suite needs where their tools are missing: docker.io,
# docker-cli, buildx, compose, mmdebstrap, iptables, iproute2, util-linux, docker-registry (the
# list, with the minimum version of each: tests/engine/aptsource.py). A no-op, in well under a second, when all
# are present.
#
# Each package comes from where apt has a new-enough version: the candidate, else Debian 13
# (trixie), whose source is added pinned at priority 100 when no apt source has trixie yet, so
# nothing else on the host moves to Debian 13. Decided from `apt-cache policy`, never from
# /etc/os-release (see docs/test-engine.md, "Host packages").
set -euo pipefail
cd "$(dirname "$0")/.."
aptsource=tests/engine/aptsource.py

# arm64 emulation: binfmt_misc mounted (a container or a minimal host may lack it) and QEMU's
# aarch64 handler registered from qemu-user-static's own spec, with the fix-binary flag (F: the
# interpreter is opened now, so it works inside containers). Where the kernel refuses either,
# the arm64 tests skip with that reason (tests/allowed_skips.py).
binfmt() {
  local root=/proc/sys/fs/binfmt_misc spec=/usr/share/binfmts/qemu-aarch64 flags=F
  [ "$(id -u)" = 0 ] && [ -f "$spec" ] || return 0
  [ -e "$root/register" ] || mount -t binfmt_misc binfmt_misc "$root" 2>/dev/null || return 0
  [ -e "$root/qemu-aarch64" ] && return 0
  field() { sed -n "s/^$1 //p" "$spec"; }
  [ "$(field preserve)" = yes ] && flags=PF
  printf ':qemu-aarch64:M:%s:%s:%s:%s:%s\n' "$(field offset)" "$(field magic)" "$(field mask)" \
    "$(field interpreter)" "$flags" >"$root/register" 2>/dev/null || true
}
binfmt

missing=$(python3 "$aptsource" missing)
[ -z "$missing" ] && exit 0
mapfile -t need <<<"$missing"

if [ "$(id -u)" != 0 ]; then
  echo "install-engine: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

if ! grep -Eqs '^[^#]*[[:space:]]trixie([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources; then
  cat >/etc/apt/sources.list.d/stagekit-trixie.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat >/etc/apt/preferences.d/stagekit-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
fi
# Another apt (unattended-upgrades, a second session) may hold dpkg's lock: wait for it, bounded.
lock=(-o DPkg::Lock::Timeout=300)
apt-get "${lock[@]}" update -qq
chosen=$(apt-cache policy "${need[@]}" | python3 "$aptsource" specs "${need[@]}")
mapfile -t specs <<<"$chosen"
echo "install-engine: apt-get install ${specs[*]}" >&2

# The suite runs its own dockerd: packages must not start the system's daemons (docker.io would
# start docker.service and containerd; a registry package its registry). policy-rc.d stops the
# start during the install; systemctl disable stops them coming back at boot.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# stagekit install-engine: no service starts during its install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get "${lock[@]}" install -y -qq --no-install-recommends "${specs[@]}" >/dev/null
if [ -d /run/systemd/system ]; then
  while read -r unit; do
    [ -n "$unit" ] && systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done < <(python3 "$aptsource" services "${need[@]}")
fi
binfmt
