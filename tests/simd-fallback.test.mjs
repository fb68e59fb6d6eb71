// The loader picks the SIMD128 package where the browser validates SIMD and the package without
// it otherwise; both hash to the same content ids and exchange files with each other.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser } from "./harness.mjs";

const browsers = [];
after(async () => { for (const b of browsers) await b.close(); });

/** A page in a browser of its own that loads peerfetch through the loader and joins. */
async function loaderPage(server, { withoutSimd }) {
  const browser = await launchBrowser();
  browsers.push(browser);
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/test.html`);
  return { page, loaded: await page.evaluate(async (withoutSimd) => {
    // A browser without wasm SIMD: its validator refuses SIMD code.
    if (withoutSimd) WebAssembly.validate = () => false;
    const pkg = await import("/peerfetch-auto.js");
    await pkg.default();
    window.peer = await pkg.Peer.join({ swarm: "simd-fallback" });
    const speed = pkg.measureVerification(16);
    const bytes = new Uint8Array(3 * 1024 * 1024 + 99);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) ^ (i >> 9);
    window.bytes = bytes;
    return { simd: pkg.simd, verifyMBps: speed.verifyMegabytesPerSecond, cid: await peer.share(new Blob([bytes])) };
  }, withoutSimd) };
}

test("the loader falls back to the package without SIMD, which interoperates", { timeout: 120000 }, async () => {
  const server = await startServer();
  try {
    const fast = await loaderPage(server, { withoutSimd: false });
    const slow = await loaderPage(server, { withoutSimd: true });
    assert.equal(fast.loaded.simd, true);
    assert.equal(slow.loaded.simd, false);
    console.log(`BLAKE3 verify: ${fast.loaded.verifyMBps.toFixed(0)} MB/s with SIMD128, ${slow.loaded.verifyMBps.toFixed(0)} MB/s without`);
    assert.equal(slow.loaded.cid, fast.loaded.cid, "both builds name the same bytes the same");
    await fast.page.evaluate((cid) => peer.remove(cid), fast.loaded.cid);
    const same = await fast.page.evaluate(async (cid) => {
      const got = new Uint8Array(await (await peer.download(cid)).arrayBuffer());
      return got.length === window.bytes.length && got.every((b, i) => b === window.bytes[i]);
    }, fast.loaded.cid);
    assert.equal(same, true, "the SIMD tab downloaded the file from the tab without SIMD");
  } finally {
    await server.stop();
  }
});
