#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds, then runs bench/*.mjs in a private network
# namespace and the server load generator on loopback; results are printed and written to
# bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
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
tests/in-netns.sh node bench/files.mjs
# Private shares: sealed against plain downloads in the same run, and WebCrypto's AES-GCM rate.
tests/in-netns.sh node bench/private.mjs
# The same scenarios with WebTorrent and with peerfetch, side by side in one run. WebTorrent and
# its tracker are the bench's own packages (bench/webtorrent/package.json), installed without
# their dependencies' install scripts, which fail here and which the bench does not need
# (bench/webtorrent/install.mjs says why).
if [ ! -d bench/webtorrent/node_modules/webtorrent ] ||
  [ bench/webtorrent/package-lock.json -nt bench/webtorrent/node_modules/.package-lock.json ]; then
  npm ci --prefix bench/webtorrent --ignore-scripts --no-audit --no-fund
fi
tests/in-netns.sh node bench/webtorrent.mjs
# HLS video with hls.js: from the origin, offloaded by peerfetch's service worker, and with
# p2p-media-loader and its tracker, side by side in one run (bench/hls/package.json, installed
# the same way). It makes its stream with ffmpeg and the stream's manifest with the server.
if [ ! -d bench/hls/node_modules/hls.js ] ||
  [ bench/hls/package-lock.json -nt bench/hls/node_modules/.package-lock.json ]; then
  npm ci --prefix bench/hls --ignore-scripts --no-audit --no-fund
fi
tests/in-netns.sh node bench/hls.mjs
# Link setup and throughput over the host, STUN and TURN paths of the simulated internet.
tests/in-netns.sh node bench/internet.mjs
scripts/build-cdn-site.sh
tests/in-netns.sh node bench/cdn.mjs
# Minutes of churn (fresh tabs joining, sharing, leaving): fails if a server gauge or a
# long-lived tab's heap keeps growing.
tests/in-netns.sh node bench/soak.mjs
