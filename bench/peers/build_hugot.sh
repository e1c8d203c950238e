#!/usr/bin/env bash
# Builds bin/hugot-peer, the hugot peer of `qegate bench` (bench/peers/hugot).
#
# hugot v0.7.0 (the release built against onnxruntime_go v1.27, like qegate)
# needs github.com/daulet/tokenizers v1.26.0, whose C ABI differs from the
# v1.22.1 that qegate links (tokenizers.h: `char **tokens` and size_t lengths
# instead of `char *` and uint32_t), so the two cannot share a binary or a
# libtokenizers.a: the peer is its own Go module with its own static library
# under .cache/native/hugot. v1.26.0's Cargo.toml takes tiktoken-rs from git,
# which a registries-only network cannot fetch; this script swaps in the
# crates.io release 0.7 (the FFI builds unchanged against it).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$REPO/.cache/native/hugot"
if [[ ! -f "$OUT/libtokenizers.a" ]]; then
	dir="$(cd "$REPO/bench/peers/hugot" && go mod download -json github.com/daulet/tokenizers@v1.26.0 |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -f "$dir/Cargo.toml" ]] || { echo "no daulet/tokenizers v1.26.0 source" >&2; exit 1; }
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	cp -r "$dir"/. "$work/src"
	chmod -R u+w "$work/src"
	sed -i 's|^tiktoken-rs = { git = .*|tiktoken-rs = "0.7"|' "$work/src/crates/tokenizers/Cargo.toml"
	rm -f "$work/src/Cargo.lock"
	(cd "$work/src" && cargo build --release -p tokenizers-ffi)
	mkdir -p "$OUT"
	cp "$work/src/target/release/libtokenizers_ffi.a" "$OUT/libtokenizers.a.tmp"
	mv "$OUT/libtokenizers.a.tmp" "$OUT/libtokenizers.a"
fi
mkdir -p "$REPO/bin"
cd "$REPO/bench/peers/hugot"
CGO_ENABLED=1 CGO_LDFLAGS="-L$OUT" GOFLAGS='' go build -tags ORT -o "$REPO/bin/hugot-peer" .
echo "built $REPO/bin/hugot-peer"
