#!/usr/bin/env bash
# Installs every native piece qegate builds and tests against into .cache/:
# libtokenizers.a, libonnxruntime.so, the Kafka jars, and kcat. Each step is
# idempotent and returns at once when its piece is already in place.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/kcat.sh"
bash "$here/onnxruntime.sh"
bash "$here/kafka.sh"
bash "$here/tokenizers.sh"
