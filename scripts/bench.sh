#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds, then runs bench/*.mjs in a private network
# namespace and the server load generator on loopback; results are printed and written to
# bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Installs a benchmark's own packages (DIR/package.json, none of which a test uses) when the
# package PROBE is missing or the lock file is newer than what is installed; without their
# dependencies' install scripts, which fail here and which no benchmark needs
# (bench/webtorrent/install.mjs says why).
bench_packages() {
  if [ ! -d "$1/node_modules/$2" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$1" --ignore-scripts --no-audit --no-fund
  fi
}
scripts/setup.sh
scripts/build-wasm.sh
# The package's size, raw and compressed, as a first visitor downloads it.
node bench/package.mjs
cargo build --release -p peerfetch-server
cargo build --release -p peerfetch --example verify_speed
cargo build --release -p peerfetch-server --example load
# 5000 native clients against one server (loopback), then a restart under that load, over
# WebSocket and over WSS. (WebRTC-direct: PEERFETCH_LOAD_TRANSPORT=webrtc-direct; about one
# native client in six does not get its connection up yet, see docs/benchmarks.md.)
PEERFETCH_LOAD_TRANSPORT=ws target/release/examples/load 5000 2000 100
PEERFETCH_LOAD_TRANSPORT=wss target/release/examples/load 5000 2000 100
# Server memory per real tab, over WebRTC-direct and over WSS.
tests/in-netns.sh node bench/tabs.mjs
tests/in-netns.sh node bench/webrtc.mjs
# A new link's first transfer against a warm one, peerfetch and a raw RTCDataChannel, one Chromium and two.
tests/in-netns.sh node bench/new-links.mjs
tests/in-netns.sh node bench/files.mjs
# Private shares: sealed against plain downloads in the same run, and WebCrypto's AES-GCM rate.
tests/in-netns.sh node bench/private.mjs
# The same scenarios with WebTorrent and with peerfetch, side by side in one run. WebTorrent and
# its tracker are the bench's own packages (bench/webtorrent/package.json).
bench_packages bench/webtorrent webtorrent
tests/in-netns.sh node bench/webtorrent.mjs
# HLS video with hls.js: from the origin, offloaded by peerfetch's service worker, and with
# p2p-media-loader and its tracker, side by side in one run (bench/hls/package.json). It makes
# its stream with ffmpeg and the stream's manifest with the server.
bench_packages bench/hls hls.js
tests/in-netns.sh node bench/hls.mjs
# Link setup and throughput over the host, STUN and TURN paths of the simulated internet.
tests/in-netns.sh node bench/internet.mjs
scripts/build-cdn-site.sh
tests/in-netns.sh node bench/cdn.mjs
# The demo site from an origin on a host of its own (4 MB/s link, 40 ms to the first byte).
tests/in-netns.sh node bench/cdn-origin.mjs
# Minutes of churn (fresh tabs joining, sharing, leaving): fails if a server gauge or a
# long-lived tab's heap keeps growing.
tests/in-netns.sh node bench/soak.mjs
# Pictures of the results: an SVG per plot in bench/results/plots/ and all of them in
# bench/results/report.html, which opens offline (vega and vega-lite: bench/report/package.json).
bench_packages bench/report vega
node bench/report.mjs
