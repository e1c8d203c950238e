#!/usr/bin/env bash
# Find the MLQE-PE dev split for `make demo`: $QEGATE_DATA, ../shared/mlqe-pe,
# or a copy fetched earlier into .cache/data. On a machine with none of them,
# fetch the dev split from MLQE-PE's public repository (CC0). Without network
# this only warns: `qegate demo` then falls back to its built-in sample.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

has_tsv() { compgen -G "$1/*-*.tsv" >/dev/null 2>&1; }
for d in "${QEGATE_DATA:-}" "${QEGATE_DATA:-}/da/dev" "$REPO/../shared/mlqe-pe/da/dev" "$REPO/.cache/data/mlqe-pe/da/dev"; do
	if [[ -n "$d" && "$d" != "/da/dev" ]] && has_tsv "$d"; then
		exit 0
	fi
done

dest="$REPO/.cache/data/mlqe-pe/da/dev"
base="https://raw.githubusercontent.com/sheffieldnlp/mlqe-pe/master/data/direct-assessments/dev"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log "no MLQE-PE data found; fetching the dev split from MLQE-PE's public repository"
for lp in en-de en-zh et-en ne-en ro-en ru-en si-en; do
	if ! curl -fsSL --max-time 30 -o "$tmp/$lp.tar.gz" "$base/$lp-dev.tar.gz"; then
		log "warning: could not fetch $lp (no network?); qegate demo will use its built-in sample"
		exit 0
	fi
	mkdir -p "$tmp/$lp"
	tar -xzf "$tmp/$lp.tar.gz" -C "$tmp/$lp"
	f="$(find "$tmp/$lp" -name '*.tsv' | head -1)"
	[[ -n "$f" ]] || { log "warning: no TSV in $lp-dev.tar.gz"; exit 0; }
	mkdir -p "$tmp/out"
	cp "$f" "$tmp/out/$lp.tsv"
done
publish "$tmp/out" "$dest"
log "MLQE-PE dev split in $dest"
