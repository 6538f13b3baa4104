#!/usr/bin/env bash
# Installs Debian's Docker Engine (docker.io), buildx, compose and mmdebstrap where they are missing.
# On Debian 12 they come from Debian 13's archive, pinned at low priority so nothing else upgrades.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
docker buildx version >/dev/null 2>&1 || need+=(docker-buildx)
docker compose version >/dev/null 2>&1 || need+=(docker-compose)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
# tests/engine needs ip (the bridge) and setsid (a detached dockerd); minimal images may lack them.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v setsid >/dev/null 2>&1 || need+=(util-linux)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-engine: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi

. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
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
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -t trixie "${need[@]}" >/dev/null
else
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
