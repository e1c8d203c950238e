#!/usr/bin/env bash
# Builds libtokenizers.a (Rust, cargo) from the github.com/daulet/tokenizers
# module source and installs it into .cache/native/lib. Keep v1.22.1: v1.23+
# pulls a git crate that the registries-only network cannot fetch.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION="${TOKENIZERS_VERSION:-v1.22.1}"
ARCH="$(uname -m)"
LIB="$REPO/.cache/native/lib"
STAMP="$REPO/.cache/native/tokenizers.stamp"
KEY="$VERSION-$ARCH"

if stamp_ok "$STAMP" "$KEY" && [[ -f "$LIB/libtokenizers.a" ]]; then
	exit 0
fi

STORE="$QEGATE_CACHE_HOME/tokenizers/$KEY"
if [[ ! -f "$STORE/libtokenizers.a" ]]; then
	need go cargo
	log "building libtokenizers.a $VERSION with cargo (first time on this machine, a few minutes)"
	dir="$(cd "$REPO" && go mod download -json "github.com/daulet/tokenizers@$VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -n "$dir" && -f "$dir/Cargo.toml" ]] || die "go mod download gave no source dir for daulet/tokenizers@$VERSION"
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	cp -r "$dir"/. "$work/src"
	chmod -R u+w "$work/src"
	(cd "$work/src" && cargo build --release --locked)
	mkdir -p "$work/out"
	cp "$work/src/target/release/libtokenizers.a" "$work/src/tokenizers.h" "$work/out/"
	publish "$work/out" "$STORE"
fi

mkdir -p "$LIB"
cp "$STORE/libtokenizers.a" "$LIB/libtokenizers.a.tmp" && mv "$LIB/libtokenizers.a.tmp" "$LIB/libtokenizers.a"
cp "$STORE/tokenizers.h" "$LIB/tokenizers.h"
echo "$KEY" >"$STAMP"
log "installed $LIB/libtokenizers.a ($VERSION)"
