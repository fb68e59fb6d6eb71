#!/usr/bin/env bash
# Installs what peerfetch needs and is missing; safe to run again. Needs root for apt-get.
#   - the wasm32 Rust target
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock
#   - Debian's Chromium and ChromeDriver and Firefox ESR (browser tests), coturn (the TURN server of the
#     internet tests), iproute2 and nftables (test network
#     namespaces, NAT routers of the simulated internet) and
#     ffmpeg (the demo site's video)
#   - the npm test tooling (playwright-core, which never downloads a browser) and wasm-opt
#     (the npm package binaryen)
#   - zopfli (the gzipped copies of the wasm package)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  cargo install wasm-bindgen-cli --version "$want" --locked
fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
command -v nft >/dev/null || missing+=(nftables)
command -v turnserver >/dev/null || missing+=(coturn)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v zopfli >/dev/null || missing+=(zopfli)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v ffmpeg >/dev/null; then
  [ ${#missing[@]} -gt 0 ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
fi

if [ ! -d node_modules/playwright-core ] || [ ! -x node_modules/.bin/wasm-opt ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
