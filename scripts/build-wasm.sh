#!/usr/bin/env bash
# Builds the browser package into target/pkg, which peerfetch-server serves at /pkg/.
# `--test-builds` also builds target/pkg-corrupt: the same package with the test-only
# `corrupt-uploads` feature, for the browser test of a lying peer.
# wasm-opt is not run: Debian's binaryen (version 108) rewrites wasm-bindgen 0.2.108's
# reference-type table so that the module fails to initialise ("Table.grow(): failed").
set -euo pipefail
cd "$(dirname "$0")/.."

# build OUT_DIR [CARGO_ARGS...]
build() {
  local out=$1
  shift
  cargo build --target wasm32-unknown-unknown --profile wasm-release -p peerfetch "$@"
  wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/wasm-release/peerfetch.wasm
  # Native-only code leaking into the wasm build shows up as imports from the module "env".
  node -e '
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(require("fs").readFileSync(process.argv[1])));
    const env = imports.filter((i) => i.module === "env").map((i) => i.name);
    if (env.length) { console.error(`wasm imports from "env": ${env.join(", ")}`); process.exit(1); }
  ' "$out/peerfetch_bg.wasm"
  echo "wasm package: $out ($(du -k "$out/peerfetch_bg.wasm" | cut -f1) KiB)"
}

if [[ ${1:-} == --test-builds ]]; then
  build target/pkg-corrupt --features corrupt-uploads
fi
build target/pkg
