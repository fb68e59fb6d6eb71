#!/usr/bin/env bash
# Installs what is missing, builds the wasm package and the server, and starts the demo
# (it prints the URL, http://127.0.0.1:8080/ by default; the CDN demo site is at /cdn/).
# Extra arguments go to the server;
# see `target/release/peerfetch-server --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-wasm.sh
cargo build --release -p peerfetch-server
scripts/build-cdn-site.sh
exec target/release/peerfetch-server "$@"
