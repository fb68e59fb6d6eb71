#!/usr/bin/env bash
# Builds the browser package into target/pkg, which peerfetch-server serves at /pkg/:
# - target/pkg/peerfetch.js + peerfetch_bg.wasm: BLAKE3 with wasm SIMD128;
# - target/pkg/nosimd/: the same without SIMD, for browsers that lack it;
# www/peerfetch-auto.js imports whichever of the two the browser can run.
# `--test-builds` also builds target/pkg-corrupt: the package with the test-only
# `corrupt-uploads` feature, for the browser test of a lying peer.
# wasm-opt is not run: Debian's binaryen (version 108) rewrites wasm-bindgen 0.2.108's
# reference-type table so that the module fails to initialise ("Table.grow(): failed").
set -euo pipefail
cd "$(dirname "$0")/.."

# build OUT_DIR SIMD(yes|no) [CARGO_ARGS...]
build() {
  local out=$1 simd=$2
  shift 2
  local target_dir=target
  if [[ $simd == no ]]; then
    # Its own target folder: different flags would otherwise rebuild everything each time.
    target_dir=target/nosimd
    RUSTFLAGS="" CARGO_TARGET_DIR=$target_dir cargo build --target wasm32-unknown-unknown \
      --profile wasm-release -p peerfetch --no-default-features "$@"
  else
    cargo build --target wasm32-unknown-unknown --profile wasm-release -p peerfetch "$@"
  fi
  wasm-bindgen --target web --out-dir "$out" "$target_dir/wasm32-unknown-unknown/wasm-release/peerfetch.wasm"
  # Native-only code leaking into the wasm build shows up as imports from the module "env";
  # the target_features section says whether SIMD128 is in.
  node -e '
    const [file, simd] = process.argv.slice(1);
    const module = new WebAssembly.Module(require("fs").readFileSync(file));
    const env = WebAssembly.Module.imports(module).filter((i) => i.module === "env").map((i) => i.name);
    if (env.length) { console.error(`wasm imports from "env": ${env.join(", ")}`); process.exit(1); }
    const features = WebAssembly.Module.customSections(module, "target_features")
      .map((s) => Buffer.from(s).toString("latin1")).join("");
    if (features.includes("simd128") !== (simd === "yes")) {
      console.error(`${file}: SIMD128 ${simd === "yes" ? "missing" : "present"} in target_features`);
      process.exit(1);
    }
  ' "$out/peerfetch_bg.wasm" "$simd"
  echo "wasm package: $out ($(du -k "$out/peerfetch_bg.wasm" | cut -f1) KiB, SIMD128: $simd)"
}

if [[ ${1:-} == --test-builds ]]; then
  build target/pkg-corrupt yes --features corrupt-uploads
fi
build target/pkg yes
build target/pkg/nosimd no

