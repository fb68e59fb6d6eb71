#!/usr/bin/env bash
# Builds the browser package into target/pkg, which peerfetch-server serves at /pkg/:
# - target/pkg/peerfetch.js + peerfetch_bg.wasm: BLAKE3 with wasm SIMD128;
# - target/pkg/nosimd/: the same without SIMD, for browsers that lack it;
# www/peerfetch-auto.js imports whichever of the two the browser can run.
# `--test-builds` also builds target/pkg-corrupt: the package with the test-only
# `corrupt-uploads` feature, for the browser test of a lying peer.
#
# After wasm-bindgen, wasm-opt from the npm package `binaryen` (package.json pins it; Debian's
# binaryen 108 broke wasm-bindgen 0.2.108's reference-type table, "Table.grow(): failed") drops
# the name section (1.9 MB of a 4 MB module) and optimises with -O2 but inlines nothing: LLVM
# has inlined already, and binaryen's inlining on top made the gzipped module larger, not
# smaller (docs/benchmarks.md#package-size). The module that keeps its function names, for
# `twiggy`, is target/wasm32-unknown-unknown/wasm-release/peerfetch.wasm.
# Every .wasm and .js is written precompressed beside itself, FILE.br (brotli, quality 11) and
# FILE.gz (zopfli, gzip format), which the server sends by the request's Accept-Encoding.
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
  rm -f "$out"/*.br "$out"/*.gz
  wasm-bindgen --target web --out-dir "$out" "$target_dir/wasm32-unknown-unknown/wasm-release/peerfetch.wasm"
  local features=(--enable-bulk-memory --enable-bulk-memory-opt --enable-call-indirect-overlong
    --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int
    --enable-reference-types --enable-sign-ext)
  if [[ $simd == yes ]]; then features+=(--enable-simd); fi
  "$wasm_opt" -O2 --always-inline-max-function-size=0 --one-caller-inline-max-function-size=0 \
    "${features[@]}" "$out/peerfetch_bg.wasm" -o "$out/peerfetch_bg.wasm"
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
  precompress "$out"/*.js "$out/peerfetch_bg.wasm"
  echo "wasm package: $out ($(du -k "$out/peerfetch_bg.wasm" | cut -f1) KiB, $(du -k "$out/peerfetch_bg.wasm.gz" | cut -f1) KiB gzipped, SIMD128: $simd)"
}

# precompress FILE...: writes FILE.br and FILE.gz beside each FILE.
precompress() {
  node -e '
    const { readFileSync, writeFileSync } = require("fs");
    const { brotliCompressSync, constants } = require("zlib");
    for (const file of process.argv.slice(1)) {
      const bytes = readFileSync(file);
      writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      } }));
    }
  ' "$@"
  for file in "$@"; do
    zopfli -c "$file" >"$file.gz"
  done
}

wasm_opt=node_modules/.bin/wasm-opt
for tool in "$wasm_opt" zopfli; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-wasm: $tool is missing: run scripts/setup.sh" >&2
    exit 1
  fi
done

if [[ ${1:-} == --test-builds ]]; then
  build target/pkg-corrupt yes --features corrupt-uploads
fi
build target/pkg yes
build target/pkg/nosimd no

