#!/usr/bin/env bash
# Runs every test: formatting and lints (native and wasm32), native unit and integration tests,
# the fuzz targets for a few seconds each,
# wasm unit tests in headless Chromium, then the browser tests (real Chromium tabs, real server) in a private network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p peerfetch --target wasm32-unknown-unknown --all-targets -- -D warnings
cargo test --workspace
# Every decoder fed arbitrary bytes for a bounded time (cargo fuzz, libFuzzer).
scripts/fuzz.sh
# wasm-bindgen tests of the browser glue, in headless Chromium (WebRTC needs the namespace).
CHROMEDRIVER=$(command -v chromedriver) WASM_BINDGEN_TEST_TIMEOUT=120 \
  tests/in-netns.sh cargo test -p peerfetch --target wasm32-unknown-unknown

scripts/build-wasm.sh --test-builds
cargo build --release -p peerfetch-server
scripts/build-cdn-site.sh
tests/in-netns.sh node --test --test-concurrency=1 tests/
