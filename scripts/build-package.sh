#!/usr/bin/env bash
# Assembles the npm package `peerfetch` in target/npm/ and packs it: prints the tarball's path
# (target/peerfetch-<version>.tgz). Needs the wasm builds (scripts/build-wasm.sh); works offline.
#   target/npm/index.js          npm/index.js: picks simd/ or nosimd/, wasm located by
#                                new URL("./…/peerfetch_bg.wasm", import.meta.url)
#   target/npm/peerfetch.d.ts    npm/peerfetch.d.ts (re-exports simd/peerfetch.d.ts)
#   target/npm/simd/             target/pkg (wasm SIMD128)
#   target/npm/nosimd/           target/pkg/nosimd
#   target/npm/peerfetch-cdn.js  www/peerfetch-cdn.js, loading ./index.js instead of ./peerfetch-auto.js
#   target/npm/peerfetch-sw.js   www/peerfetch-sw.js
# Version and license come from crate/Cargo.toml (and the workspace's).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/npm

for build in target/pkg target/pkg/nosimd; do
  for file in peerfetch.js peerfetch.d.ts peerfetch_bg.wasm; do
    if [[ ! -s $build/$file ]]; then
      echo "build-package: $build/$file is missing: run scripts/build-wasm.sh first" >&2
      exit 1
    fi
  done
  # Used when init() is given no URL; the package's own loader passes one in the same form.
  if ! grep -q "new URL('peerfetch_bg.wasm', import.meta.url)" "$build/peerfetch.js"; then
    echo "build-package: $build/peerfetch.js no longer locates its wasm with new URL(…, import.meta.url)" >&2
    exit 1
  fi
done

rm -rf "$out"
mkdir -p "$out/simd" "$out/nosimd"
cp npm/index.js npm/peerfetch.d.ts npm/README.md "$out/"
cp target/pkg/peerfetch.js target/pkg/peerfetch.d.ts target/pkg/peerfetch_bg.wasm "$out/simd/"
cp target/pkg/nosimd/peerfetch.js target/pkg/nosimd/peerfetch.d.ts target/pkg/nosimd/peerfetch_bg.wasm "$out/nosimd/"
cp www/peerfetch-sw.js "$out/"

# The drop-in script loads the wasm through the server's /peerfetch-auto.js; the packaged copy
# through the package's own loader.
{
  echo "// Packaged copy of peerfetch's www/peerfetch-cdn.js: loads the wasm through this package's index.js."
  sed 's#"./peerfetch-auto.js"#"./index.js"#g' www/peerfetch-cdn.js
} >"$out/peerfetch-cdn.js"
if ! grep -q 'import("./index.js")' "$out/peerfetch-cdn.js" || grep -Eq 'peerfetch-auto|"/pkg/' "$out/peerfetch-cdn.js"; then
  echo "build-package: www/peerfetch-cdn.js no longer loads ./peerfetch-auto.js as this script expects: update it" >&2
  exit 1
fi

# package.json: npm/package.json with the crate's version and license.
cargo metadata --no-deps --offline --format-version 1 | node -e '
  const fs = require("fs");
  const crate = JSON.parse(fs.readFileSync(0, "utf8")).packages.find((p) => p.name === "peerfetch");
  const manifest = JSON.parse(fs.readFileSync("npm/package.json", "utf8"));
  manifest.version = crate.version;
  manifest.license = crate.license;
  fs.writeFileSync(process.argv[1], JSON.stringify(manifest, null, 2) + "\n");
  for (const file of manifest.files) {
    if (!fs.existsSync(`${process.argv[2]}/${file}`)) throw new Error(`package.json lists ${file}, which is missing`);
  }
' "$out/package.json" "$out"

tarball=$(cd "$out" && npm pack --pack-destination .. --offline --silent --no-update-notifier)
echo "target/$tarball"
