#!/usr/bin/env bash
# Installs kcat (the Kafka command-line client) from Debian packages when it
# is missing. Needs root (or sudo) and apt; a no-op when kcat is on PATH.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if command -v kcat >/dev/null 2>&1; then
	exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "kcat is missing and apt-get is not available; install kcat by hand"
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
	command -v sudo >/dev/null 2>&1 || die "kcat is missing; installing it needs root (or sudo)"
	SUDO="sudo"
fi
log "installing kcat from Debian packages"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq kcat >/dev/null
command -v kcat >/dev/null 2>&1 || die "apt-get install kcat did not put kcat on PATH"
log "installed $(command -v kcat)"
