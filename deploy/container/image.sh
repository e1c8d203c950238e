#!/usr/bin/env bash
# Builds the runtime stage of deploy/Dockerfile with podman, offline, and
# prints the image's reference on stdout (progress goes to stderr):
#
#   deploy/container/image.sh      ->  localhost/qegate:test-<hash of the clone's path>
#
# No registry is reachable from the build machines, so:
# - The base image the runtime stage starts FROM (debian:<DEBIAN>-slim) is
#   made with mmdebstrap from Debian's archive, like the official slim image
#   (minbase, merged /usr, the slim image's dpkg path excludes), kept as a
#   tarball under $QEGATE_CACHE_HOME/container/rootfs and imported once into
#   podman's storage under the name the Dockerfile uses; builds never pull.
# - The build stages (node, rust and golang images) are replaced by a named
#   build context "build" holding what the build stage would hold: bin/qegate
#   made by the same `make build`, with the image's paths baked in (read from
#   the Dockerfile), libonnxruntime.so.1 from .cache/native, models/default and
#   configs/qegate.yaml. The runtime stage is built from the Dockerfile as it
#   is (--target runtime): its lines are the ones users get.
#
# Exit status 3, with one line on stderr saying why, when this machine cannot
# build or run containers (podman, runc or mmdebstrap missing, or podman
# failing to start one); anything else that fails exits 1.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../setup/common.sh"

PODMAN="$REPO/deploy/container/podman"
DOCKERFILE="$REPO/deploy/Dockerfile"
STORE="$QEGATE_CACHE_HOME/container"
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
TAG="${QEGATE_IMAGE_TAG:-localhost/qegate:test-$(printf '%s' "$REPO" | sha256sum | cut -c1-8)}"

unusable() { printf 'container: cannot run containers on this machine: %s\n' "$*" >&2; exit 3; }

for c in podman runc mmdebstrap; do
	command -v "$c" >/dev/null 2>&1 || unusable "$c not found (apt-get install podman runc mmdebstrap uidmap)"
done

debian="$(sed -n 's/^ARG DEBIAN=//p' "$DOCKERFILE")"
[[ -n "$debian" ]] || die "no 'ARG DEBIAN=' default in $DOCKERFILE"
grep -q "^FROM debian:\${DEBIAN}-slim AS runtime$" "$DOCKERFILE" ||
	die "$DOCKERFILE has no 'FROM debian:\${DEBIAN}-slim AS runtime' stage"
base="docker.io/library/debian:$debian-slim"

# ---- the base rootfs: what debuerreotype does for the official slim image,
# including its apt settings for images (no package caches left in a layer,
# no translations), so that the runtime stage's apt-get layer is as small as
# on the real debian image.
mirror=http://deb.debian.org
apt_conf='cd "$1/etc/apt/apt.conf.d"
clean="rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"
printf "%s\n" "DPkg::Post-Invoke { \"$clean\"; };" "APT::Update::Post-Invoke { \"$clean\"; };" \
	"Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >docker-clean
echo "Acquire::Languages \"none\";" >docker-no-languages
printf "%s\n" "Acquire::GzipIndexes \"true\";" "Acquire::CompressionTypes::Order:: \"gz\";" >docker-gzip-indexes
echo "Apt::AutoRemove::SuggestsImportant \"false\";" >docker-autoremove-suggests
rm -f "$1"/var/cache/apt/*.bin'
mmdebstrap_args=(
	--variant=minbase --format=tar
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
	--customize-hook="$apt_conf"
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/usr/share/groff/*'
	--dpkgopt='path-exclude=/usr/share/lintian/*'
	--dpkgopt='path-exclude=/usr/share/linda/*'
	"$debian" /dev/null
	"deb $mirror/debian $debian main"
	"deb $mirror/debian $debian-updates main"
	"deb $mirror/debian-security $debian-security main"
)
key="$(printf '%s\n' "${mmdebstrap_args[@]}" | sha256sum | cut -c1-12)"
rootfs="$STORE/rootfs/debian-$debian-slim-$key.tar"
if [[ ! -s "$rootfs" ]]; then
	log "making $rootfs with mmdebstrap (once per machine, about a minute)"
	mkdir -p "$(dirname "$rootfs")"
	tmp="$(mktemp "$rootfs.tmp.XXXXXX")"
	args=("${mmdebstrap_args[@]}")
	args[${#mmdebstrap_args[@]} - 4]="$tmp" # the output, after the suite
	if ! mmdebstrap --quiet "${args[@]}" >&2; then
		rm -f "$tmp"
		die "mmdebstrap failed"
	fi
	mv "$tmp" "$rootfs"
	# Rootfs tarballs of other settings are not used again.
	find "$(dirname "$rootfs")" -name "debian-$debian-slim-*.tar" ! -name "$(basename "$rootfs")" -delete
fi

# import_base: the rootfs as $base in the current driver's storage, unless
# the image there already came from this rootfs (its label holds the key).
import_base() {
	local have
	have="$("$PODMAN" image inspect --format '{{index .Labels "org.qegate.rootfs"}}' "$base" 2>/dev/null || true)"
	[[ "$have" == "$key" ]] && return 0
	log "importing $rootfs as $base"
	"$PODMAN" import --quiet --change 'CMD ["bash"]' --change "LABEL org.qegate.rootfs=$key" \
		"$rootfs" "$base" >/dev/null
}

# probe: can podman start a container of the base image (host network, the
# limits the tests use)? On failure it prints podman's last line.
probe() {
	local out
	if out="$(import_base 2>&1 && "$PODMAN" run --rm --pull=never --network host "${ULIMITS[@]}" "$base" true 2>&1)"; then
		return 0
	fi
	printf '%s\n' "$out" | grep -v '^\s*$' | tail -1
	return 1
}

# ---- the storage driver: overlay where the kernel allows it (fast, layers
# share files), else vfs (copies every layer, works everywhere).
if [[ -n "${QEGATE_PODMAN_DRIVER:-}" ]]; then
	why="$(probe)" || unusable "podman ($QEGATE_PODMAN_DRIVER storage, runc): $why"
elif [[ -s "$STORE/driver" ]]; then
	why="$(probe)" || unusable "podman ($(cat "$STORE/driver") storage, runc): $why"
else
	mkdir -p "$STORE"
	for d in overlay vfs; do
		if why="$(QEGATE_PODMAN_DRIVER=$d probe)"; then
			echo "$d" >"$STORE/driver.tmp.$$" && mv "$STORE/driver.tmp.$$" "$STORE/driver"
			log "podman storage driver: $d"
			break
		fi
		log "podman with $d storage cannot run containers: $why"
	done
	[[ -s "$STORE/driver" ]] || unusable "podman (runc, overlay or vfs storage): $why"
fi

# ---- the "build" stage's output, made on the host.
ort_lib="$(grep -o 'ORT_LIB=[^ ]*' "$DOCKERFILE" | head -1 | cut -d= -f2)"
model_dir="$(grep -o 'MODEL_DIR=[^ ]*' "$DOCKERFILE" | head -1 | cut -d= -f2)"
[[ -n "$ort_lib" && -n "$model_dir" ]] || die "no ORT_LIB=/MODEL_DIR= in the build stage of $DOCKERFILE"
ctx="$REPO/.cache/container/build"
src="$ctx/src"
rm -rf "$ctx"
mkdir -p "$src/.cache/native/lib" "$src/models" "$src/configs" "$src/bin"
log "make build with ORT_LIB=$ort_lib MODEL_DIR=$model_dir"
make -C "$REPO" --no-print-directory build BIN="$src/bin/qegate" ORT_LIB="$ort_lib" MODEL_DIR="$model_dir" >&2
cp -L "$REPO/.cache/native/lib/libonnxruntime.so.1" "$src/.cache/native/lib/"
cp -a "$REPO/models/default" "$src/models/default"
cp "$REPO/configs/qegate.yaml" "$src/configs/"

# ---- the runtime stage, as users get it (plus a label naming the clone).
log "podman build --target runtime -t $TAG"
began=$(date +%s)
"$PODMAN" build --pull=never --network host "${ULIMITS[@]}" --format docker \
	--label "org.qegate.clone=$REPO" \
	-f "$DOCKERFILE" --target runtime --build-context build="$ctx" -t "$TAG" "$REPO" >&2
# Images of clones that are gone, and the previous build's layers, now
# untagged (with vfs each is a full copy), so the storage does not grow.
"$PODMAN" images --filter label=org.qegate.clone --format '{{.ID}} {{index .Labels "org.qegate.clone"}}' |
	while read -r id clone; do
		[[ -d "$clone" ]] || "$PODMAN" rmi -f "$id" >/dev/null 2>&1 || true
	done
"$PODMAN" image prune -f >/dev/null
size="$("$PODMAN" image inspect --format '{{.Size}}' "$TAG")"
log "built $TAG in $(($(date +%s) - began))s, $((size / 1000000)) MB (${QEGATE_PODMAN_DRIVER:-$(cat "$STORE/driver")} storage)"
echo "$TAG"
