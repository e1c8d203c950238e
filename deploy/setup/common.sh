# shellcheck shell=bash
# Shared helpers for the deploy/setup scripts. Source it; do not run it.
#
# Layout:
#   $REPO/.cache/...            what the build uses (git-ignored, per clone)
#   $QEGATE_CACHE_HOME/...      machine-level store keyed by version, so a fresh
#                               clone copies instead of rebuilding
#                               (default: $HOME/.cache/qegate)

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
QEGATE_CACHE_HOME="${QEGATE_CACHE_HOME:-${HOME:-/root}/.cache/qegate}"
export REPO QEGATE_CACHE_HOME

log() { printf '[setup %s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "$c not found on PATH"
	done
}

# stamp_ok FILE VALUE: true when FILE holds exactly VALUE.
stamp_ok() { [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]; }

# publish SRC_DIR DEST_DIR: replace DEST_DIR by a copy of SRC_DIR atomically
# enough for concurrent readers (copy beside, then rename).
publish() {
	local src="$1" dest="$2" tmp
	mkdir -p "$(dirname "$dest")"
	tmp="$(mktemp -d "${dest}.tmp.XXXXXX")"
	cp -a "$src"/. "$tmp"/
	rm -rf "${dest}.old.$$"
	if [[ -e "$dest" ]]; then mv "$dest" "${dest}.old.$$"; fi
	mv "$tmp" "$dest"
	rm -rf "${dest}.old.$$"
}
