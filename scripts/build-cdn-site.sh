#!/usr/bin/env bash
# Builds the demo site's generated assets under www/cdn/assets/ (images, JS, CSS, and a short
# WebM video made with ffmpeg) and its manifest, www/cdn/peerfetch-manifest.json. The server
# serves the site as its origin at /cdn/. Needs the release server binary (for the manifest).
set -euo pipefail
cd "$(dirname "$0")/.."
assets=www/cdn/assets
mkdir -p "$assets"
node scripts/cdn-assets.mjs "$assets"
if [ ! -s "$assets/clip.webm" ]; then
  # 20 s of test pattern and tone, VP8 + Opus, about 4 MiB: several pieces, so seeking asks for ranges.
  ffmpeg -v error -y -f lavfi -i "testsrc2=duration=20:size=640x360:rate=25" \
    -f lavfi -i "sine=frequency=440:duration=20" -c:v libvpx -b:v 1500k -deadline realtime \
    -cpu-used 8 -c:a libopus -b:a 64k -shortest "$assets/clip.webm"
fi
cargo build --release -q -p peerfetch-server
target/release/peerfetch-server manifest "$assets" --base /cdn/assets --out www/cdn/peerfetch-manifest.json
