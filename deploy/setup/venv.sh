#!/usr/bin/env bash
# Provides train/.venv with train/requirements.txt installed. The venv is heavy
# (torch with CUDA wheels), so it is built once per machine under
# $QEGATE_CACHE_HOME/venv/<python>-<requirements hash> and train/.venv is a
# symlink to it. A real train/.venv directory that already exists is kept and
# brought up to date in place. A stamp holding the requirements hash makes the
# repeat run a no-op.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REQ="$REPO/train/requirements.txt"
BUILD_REQ="$REPO/train/build-requirements.txt"
VENV="$REPO/train/.venv"
STAMP_NAME=".qegate-requirements.sha256"
PYTHON="${QEGATE_PYTHON:-python3}"

[[ -f "$REQ" ]] || die "$REQ is missing"
need "$PYTHON" sha256sum
pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
hash="$(sha256sum "$REQ" | cut -c1-16)"
KEY="py$pyver-$hash"

# The editable-install build tools are small and outside the hash key: a venv made
# before they were listed gets them here instead of being rebuilt.
ensure_build_tools() { # ensure_build_tools VENV_DIR
	if ! "$1/bin/python" -c 'import wheel' 2>/dev/null; then
		"$1/bin/python" -m pip install -q -r "$BUILD_REQ"
	fi
}

if stamp_ok "$VENV/$STAMP_NAME" "$KEY" && [[ -x "$VENV/bin/python" ]]; then
	ensure_build_tools "$VENV"
	exit 0
fi

install_reqs() { # install_reqs VENV_DIR
	"$1/bin/python" -m pip install -q -r "$REQ" -r "$BUILD_REQ"
	echo "$KEY" >"$1/$STAMP_NAME"
}

if [[ -d "$VENV" && ! -L "$VENV" ]]; then
	log "updating the existing $VENV from $REQ"
	[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
	install_reqs "$VENV"
	exit 0
fi

STORE="$QEGATE_CACHE_HOME/venv/$KEY"
if ! stamp_ok "$STORE/$STAMP_NAME" "$KEY"; then
	log "creating $STORE (python $pyver; torch and friends, several minutes the first time)"
	rm -rf "$STORE"
	mkdir -p "$(dirname "$STORE")"
	"$PYTHON" -m venv "$STORE"
	"$STORE/bin/python" -m pip install -q --upgrade pip
	install_reqs "$STORE"
fi
ln -sfn "$STORE" "$VENV"
log "train/.venv -> $STORE"
