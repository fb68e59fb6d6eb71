// Types of the package's entry (index.js): the API of the wasm build (both builds have the same
// one), loaded by `init()`.
export { default, Peer, measureVerification, qrCodeSvg } from "./simd/peerfetch.js";
export type { InitInput, InitOutput } from "./simd/peerfetch.js";

/** Whether this browser runs the SIMD128 build (the one `init()` loads). */
export const simd: boolean;
