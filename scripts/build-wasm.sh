#!/usr/bin/env bash
# Builds the browser package into target/pkg (served by peerfetch-server at /pkg/).
# Usage: scripts/build-wasm.sh [--test-build]
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/pkg
cargo build --target wasm32-unknown-unknown --profile wasm-release -p peerfetch
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/wasm-release/peerfetch.wasm
if false && command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types \
    -o "$out/peerfetch_bg.wasm" "$out/peerfetch_bg.wasm"
fi
echo "wasm package: $out ($(du -k "$out/peerfetch_bg.wasm" | cut -f1) KiB)"
