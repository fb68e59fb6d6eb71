// peerfetch: the package's entry. Picks the build this browser can run — BLAKE3 with wasm
// SIMD128 where the browser validates SIMD code, the build without SIMD otherwise — and
// `init()` fetches and instantiates that build's wasm module (about 4 MB):
//
//   import init, { Peer } from "peerfetch";
//   await init();
//   const peer = await Peer.join({ server: "https://peerfetch.example", swarm: "demo" });
//
// Every path is relative to this module, so the package works served as is from any folder,
// and bundlers that understand `new URL("…", import.meta.url)` (webpack 5, Rollup/Vite, Parcel)
// emit the two wasm files themselves. esbuild leaves that expression as it is: copy
// `simd/peerfetch_bg.wasm` and `nosimd/peerfetch_bg.wasm` of this package next to the bundle,
// keeping the two folder names (README.md).
//
// Both builds' JavaScript glue is imported (about 70 kB each, the wasm is what is big), so that
// `Peer` is a plain export from the start: no top-level await, nothing to destructure late.
import * as simdBuild from "./simd/peerfetch.js";
import * as nosimdBuild from "./nosimd/peerfetch.js";

// A module of SIMD code `WebAssembly.validate` accepts only with SIMD128 (i8x16.splat, popcnt).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

/** Whether this browser runs the SIMD128 build (the one `init()` loads). */
export const simd = WebAssembly.validate(SIMD_PROBE);
const build = simd ? simdBuild : nosimdBuild;

/** The API of the chosen build; usable once `init()` resolved. */
export const { Peer, measureVerification, qrCodeSvg } = build;

let started;

/**
 * Fetches and instantiates the chosen build's wasm module; resolves to its exports. Calls after
 * the first share its result (after a failure, the next call tries again). `input` (optional) is
 * what wasm-bindgen's init takes, e.g. `{ module_or_path: url }`, to load the wasm from
 * elsewhere than next to this module.
 */
export default function init(input) {
  // Two literal expressions, so bundlers find both files.
  const wasm = simd
    ? new URL("./simd/peerfetch_bg.wasm", import.meta.url)
    : new URL("./nosimd/peerfetch_bg.wasm", import.meta.url);
  started ??= build.default(input ?? { module_or_path: wasm }).catch((error) => {
    started = undefined;
    throw error;
  });
  return started;
}
