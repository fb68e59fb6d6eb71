// What a first visitor downloads: the size of each file of the browser package (both wasm builds
// and their JS glue) as stored, gzipped and brotli-compressed. "served" figures are the
// precompressed copies scripts/build-wasm.sh writes beside each file (zopfli and brotli 11),
// which peerfetch-server sends by Accept-Encoding; "gzip -9" is what a server compressing on the
// fly at zlib's best level would send. Prints a table and writes bench/results/package.json.
// Needs the package (scripts/build-wasm.sh); no browser. Run with scripts/bench.sh.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const PKG = process.env.PEERFETCH_PKG_DIR ?? join(ROOT, "target/pkg");
const FILES = ["peerfetch_bg.wasm", "peerfetch.js", "nosimd/peerfetch_bg.wasm", "nosimd/peerfetch.js"];
const KiB = 1024;

/** The size of the precompressed copy `path`, or null when the package has none. */
const sizeOf = (path) => (existsSync(path) ? readFileSync(path).length : null);

const files = {};
for (const name of FILES) {
  const path = join(PKG, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/build-wasm.sh first`);
  const bytes = readFileSync(path);
  files[name] = {
    rawBytes: bytes.length,
    gzip9Bytes: gzipSync(bytes, { level: 9 }).length,
    servedGzipBytes: sizeOf(`${path}.gz`),
    servedBrotliBytes: sizeOf(`${path}.br`),
  };
}

const kib = (bytes) => (bytes === null ? "-" : `${(bytes / KiB).toFixed(0)} KiB`);
console.log(`package ${PKG}`);
console.log("file                         raw        gzip -9    served gzip  served brotli");
for (const [name, f] of Object.entries(files)) {
  console.log(`${name.padEnd(28)} ${kib(f.rawBytes).padEnd(10)} ${kib(f.gzip9Bytes).padEnd(10)} ${kib(f.servedGzipBytes).padEnd(12)} ${kib(f.servedBrotliBytes)}`);
}

const results = { date: new Date().toISOString(), package: PKG, files };
const dir = join(ROOT, "bench/results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "package.json"), JSON.stringify(results, null, 2) + "\n");
