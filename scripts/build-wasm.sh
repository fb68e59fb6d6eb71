#!/usr/bin/env bash
# Builds the browser package into target/pkg, which peerfetch-server serves at /pkg/.
# wasm-opt is not run: Debian's binaryen (version 108) rewrites wasm-bindgen 0.2.108's
# reference-type table so that the module fails to initialise ("Table.grow(): failed").
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/pkg
cargo build --target wasm32-unknown-unknown --profile wasm-release -p peerfetch
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/wasm-release/peerfetch.wasm
# Native-only code leaking into the wasm build shows up as imports from the module "env".
node -e '
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(require("fs").readFileSync(process.argv[1])));
  const env = imports.filter((i) => i.module === "env").map((i) => i.name);
  if (env.length) { console.error(`wasm imports from "env": ${env.join(", ")}`); process.exit(1); }
' "$out/peerfetch_bg.wasm"
echo "wasm package: $out ($(du -k "$out/peerfetch_bg.wasm" | cut -f1) KiB)"
