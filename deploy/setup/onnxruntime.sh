#!/usr/bin/env bash
# Installs libonnxruntime.so (CPU, linux) from the npm package onnxruntime-node
# into .cache/native/lib. 1.24.x matches the C API headers (ORT_API_VERSION 24)
# that github.com/yalue/onnxruntime_go v1.27.0 is built against.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION="${ORT_VERSION:-1.30.0}"
case "$(uname -m)" in
x86_64) NODE_ARCH=x64 ;;
aarch64) NODE_ARCH=arm64 ;;
*) die "unsupported architecture $(uname -m)" ;;
esac
LIB="$REPO/.cache/native/lib"
STAMP="$REPO/.cache/native/onnxruntime.stamp"
KEY="$VERSION-linux-$NODE_ARCH"

if stamp_ok "$STAMP" "$KEY" && [[ -f "$LIB/libonnxruntime.so" && -e "$LIB/libonnxruntime.so.1" ]]; then
	exit 0
fi

STORE="$QEGATE_CACHE_HOME/onnxruntime/$KEY"
if [[ ! -f "$STORE/libonnxruntime.so.1" ]]; then
	need npm tar
	log "fetching onnxruntime-node@$VERSION from npm"
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	(cd "$work" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null)
	tar -xzf "$work"/onnxruntime-node-*.tgz -C "$work" "package/bin/napi-v6/linux/$NODE_ARCH/libonnxruntime.so.1" \
		|| die "onnxruntime-node@$VERSION carries no linux/$NODE_ARCH libonnxruntime.so.1"
	mkdir -p "$work/out"
	cp "$work/package/bin/napi-v6/linux/$NODE_ARCH/libonnxruntime.so.1" "$work/out/"
	echo "$VERSION" >"$work/out/VERSION"
	publish "$work/out" "$STORE"
fi

mkdir -p "$LIB"
# A real file for the versioned name (the SONAME), a symlink for the plain one.
cp "$STORE/libonnxruntime.so.1" "$LIB/libonnxruntime.so.1.tmp" && mv "$LIB/libonnxruntime.so.1.tmp" "$LIB/libonnxruntime.so.1"
ln -sfn libonnxruntime.so.1 "$LIB/libonnxruntime.so"
echo "$VERSION" >"$LIB/onnxruntime.VERSION"
echo "$KEY" >"$STAMP"
log "installed $LIB/libonnxruntime.so (onnxruntime $VERSION)"
