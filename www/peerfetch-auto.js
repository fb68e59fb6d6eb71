// Loads the peerfetch package this browser can run: BLAKE3 with wasm SIMD128 where the browser
// has it, the package without SIMD otherwise. Use it as the package itself:
//   import init, { Peer } from "/peerfetch-auto.js";
// A module of SIMD code `WebAssembly.validate` accepts only with SIMD128 (i8x16.splat, popcnt).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

/** Whether the SIMD128 package was loaded. */
export const simd = WebAssembly.validate(SIMD_PROBE);
const dir = simd ? "/pkg/" : "/pkg/nosimd/";
// The module is fetched beside its JS glue, not after it: one round trip less before `init`.
const module = fetch(new URL(`${dir}peerfetch_bg.wasm`, import.meta.url));
const pkg = await import(`${dir}peerfetch.js`);
/** The package's `init`: with no argument, it compiles the module fetched above. */
export default function init(options) {
  return pkg.default(options ?? { module_or_path: module });
}
export const { Peer, measureVerification, qrCodeSvg } = pkg;
