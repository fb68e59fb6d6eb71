#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds, then runs bench/*.mjs in a private network
# namespace; results are printed and written to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-wasm.sh
cargo build --release -p peerfetch-server
cargo build --release -p peerfetch --example verify_speed
tests/in-netns.sh node bench/webrtc.mjs
tests/in-netns.sh node bench/files.mjs
scripts/build-cdn-site.sh
tests/in-netns.sh node bench/cdn.mjs
